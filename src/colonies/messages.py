"""One model per RPC message (protocol §3), with the Go server's JSON keys.

Every message carries ``msgtype``; the dispatcher checks it equals the envelope's ``payloadtype`` (the signature
covers the payload, not the envelope, so this stops type swapping).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from .blueprints import Blueprint, BlueprintDefinition
from .models import (
    Int64, Seconds, Allocations, Attribute, Colony, Executor, Function, FunctionSpec, User, Wire, WorkflowSpec,
)  # fmt: skip


class Msg(Wire):
    msgtype: str = ""
    #: Replay protection (ours; Go clients omit it): "<unix ns>-<16+ hex chars>", unique per request. The
    #: server refuses a nonce outside its replay window or seen before (see docs/security.md).
    nonce: str = ""
    #: Ours too: the ``instanceid`` of the server the request is meant for (see ``check_audience``).
    audience: str = ""


# server
class VersionMsg(Msg):
    buildversion: str = ""
    buildtime: str = ""


class GetServerInfoMsg(Msg):
    pass


class GetStatisticsMsg(Msg):
    pass


class GetClusterMsg(Msg):
    pass


class ChangeServerIDMsg(Msg):
    serverid: str = ""


# colonies
class AddColonyMsg(Msg):
    colony: Colony = Field(default_factory=Colony)


class ColonyNameMsg(Msg):
    colonyname: str = ""


class ChangeColonyIDMsg(Msg):
    colonyname: str = ""
    colonyid: str = ""


# users
class AddUserMsg(Msg):
    user: User = Field(default_factory=User)


class UserNameMsg(Msg):
    colonyname: str = ""
    name: str = ""


class GetUserByIDMsg(Msg):
    colonyname: str = ""
    userid: str = ""


class ChangeUserIDMsg(Msg):
    colonyname: str = ""
    userid: str = ""


# executors
class AddExecutorMsg(Msg):
    executor: Executor = Field(default_factory=Executor)


class ExecutorNameMsg(Msg):
    colonyname: str = ""
    executorname: str = ""


class GetExecutorByIDMsg(Msg):
    colonyname: str = ""
    executorid: str = ""


class ChangeExecutorIDMsg(Msg):
    colonyname: str = ""
    executorid: str = ""


class UpdateExecutorMsg(Msg):
    """updateexecutormsg (v1.9): the executor replaces its capabilities (objects or arrays, kept as sent)."""

    colonyname: str = ""
    executorname: str = ""
    capabilities: dict[str, Any] | None = None


class ReportAllocationMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    allocations: Allocations = Field(default_factory=Allocations)


# functions
class AddFunctionMsg(Msg):
    fun: Function = Field(default_factory=Function)


class GetFunctionsMsg(Msg):
    colonyname: str = ""
    executorname: str = ""


class RemoveFunctionMsg(Msg):
    functionid: str = ""


# processes
class SubmitFuncSpecMsg(Msg):
    spec: FunctionSpec = Field(default_factory=FunctionSpec)


class AssignProcessMsg(Msg):
    colonyname: str = ""
    timeout: Seconds = 0
    availablecpu: str = ""
    availablemem: str = ""


class GetProcessHistMsg(Msg):
    colonyname: str = ""
    executorid: str = ""
    seconds: Seconds = 0
    state: Int64 = 0


class GetProcessesMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0
    state: Int64 = 0
    executortype: str = ""
    label: str = ""
    initiator: str = ""
    #: Ours (the dashboard): a function-name filter and paging; the Go server ignores both.
    funcname: str = ""
    offset: Int64 = 0
    #: Sent by pycolonies' get_processes_for_workflow (with state -1); the Go server ignores it, we honour it.
    processgraphid: str = ""


class ProcessIDMsg(Msg):
    processid: str = ""
    all: bool = False


class RemoveAllMsg(Msg):
    colonyname: str = ""
    state: Int64 = 0


class LeasedMsg(Msg):
    #: Fencing token (ours; Go clients omit it): the process's ``starttime`` as the executor got it from
    #: assignprocessmsg. When given, the call is refused once that assignment has ended, even if the same
    #: executor was given the process again after a requeue.
    lease: str = ""


class CloseSuccessfulMsg(LeasedMsg):
    processid: str = ""
    out: list[Any] = Field(default_factory=list)


class CloseFailedMsg(LeasedMsg):
    processid: str = ""
    errors: list[Any] = Field(default_factory=list)


class SetOutputMsg(LeasedMsg):
    processid: str = ""
    out: list[Any] = Field(default_factory=list)


# workflows
class SubmitWorkflowSpecMsg(Msg):
    spec: WorkflowSpec = Field(default_factory=WorkflowSpec)


class ProcessGraphIDMsg(Msg):
    processgraphid: str = ""
    all: bool = False


class GetProcessGraphsMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0
    state: Int64 = 0
    offset: Int64 = 0  #: ours (paging); the Go server ignores it


class AddChildMsg(Msg):
    processgraphid: str = ""
    parentprocessid: str = ""
    childprocessid: str = ""
    spec: FunctionSpec = Field(default_factory=FunctionSpec)
    insert: bool = False


# attributes
class AddAttributeMsg(LeasedMsg):
    attribute: Attribute = Field(default_factory=Attribute)


class GetAttributeMsg(Msg):
    attributeid: str = ""


# logs
class AddLogMsg(LeasedMsg):
    processid: str = ""
    message: str = ""


class AddExecutorLogMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    message: str = ""


class GetLogsMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executorname: str = ""
    count: Int64 = 0
    since: Int64 = 0
    latest: bool = False


class SearchLogsMsg(Msg):
    colonyname: str = ""
    text: str = ""
    days: Seconds = 0
    count: Int64 = 0


# crons
class Cron(Wire):
    """A cron as clients send it (protocol §4.12); the server fills ids, initiator and times."""

    cronid: str = ""
    colonyname: str = ""
    name: str = ""
    cronexpression: str = ""
    interval: Int64 = 0
    random: bool = False
    workflowspec: str = ""
    waitforprevprocessgraph: bool = False

    @model_validator(mode="before")
    @classmethod
    def _misspelt_wait(cls, data: Any) -> Any:
        # The original Python SDK sends ``waitforprevprocessgrap`` (sic); its users meant the flag.
        if isinstance(data, dict) and "waitforprevprocessgrap" in data and "waitforprevprocessgraph" not in data:
            return {**data, "waitforprevprocessgraph": data["waitforprevprocessgrap"]}
        return data


class AddCronMsg(Msg):
    cron: Cron = Field(default_factory=Cron)


class CronIDMsg(Msg):
    cronid: str = ""
    all: bool = False


class GetCronsMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0


class GetCronRunsMsg(Msg):
    """Ours: the recent firings of a cron, newest first."""

    cronid: str = ""
    count: Int64 = 0


# generators
class Generator(Wire):
    """A generator as clients send it (protocol §4.11); the server fills ids, initiator and times."""

    generatorid: str = ""
    colonyname: str = ""
    name: str = ""
    workflowspec: str = ""
    trigger: Int64 = 0
    timeout: Int64 = 0


class AddGeneratorMsg(Msg):
    generator: Generator = Field(default_factory=Generator)


class GeneratorIDMsg(Msg):
    generatorid: str = ""
    all: bool = False


class ResolveGeneratorMsg(Msg):
    colonyname: str = ""
    generatorname: str = ""


class GetGeneratorsMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0


class PackGeneratorMsg(Msg):
    generatorid: str = ""
    arg: str = ""


class GetGeneratorRunsMsg(Msg):
    """Ours: the workflows a generator started, newest first."""

    generatorid: str = ""
    count: Int64 = 0


# locations
class Location(Wire):
    locationid: str = ""
    name: str = ""
    colonyname: str = ""
    description: str = ""
    long: float = 0.0
    lat: float = 0.0


class AddLocationMsg(Msg):
    location: Location = Field(default_factory=Location)


class LocationNameMsg(Msg):
    colonyname: str = ""
    name: str = ""


# files and snapshots (ColonyFS metadata; the bytes are in S3 or a client's local store)
class S3Object(Wire):
    server: str = ""
    port: Int64 = 0
    tls: bool = False
    accesskey: str = ""
    #: Read and dropped: the server never stores S3 secrets (replies carry "").
    secretkey: str = ""
    region: str = ""
    #: Read and dropped, as ``secretkey``.
    encryptionkey: str = ""
    encryptionalg: str = ""
    object: str = ""
    bucket: str = ""


class FileRef(Wire):
    protocol: str = ""
    s3object: S3Object = Field(default_factory=S3Object)


class File(Wire):
    """A file revision as clients send it (protocol §4.14); the server sets fileid, sequencenr and added, so those
    keys (pycolonies sends ``sequencenr: 1`` and ``added: null``) are ignored."""

    colonyname: str = ""
    label: str = ""
    name: str = ""
    size: Int64 = 0
    checksum: str = ""
    checksumalg: str = ""
    ref: FileRef = Field(default_factory=FileRef)


class AddFileMsg(Msg):
    file: File = Field(default_factory=File)


class GetFileMsg(Msg):
    colonyname: str = ""
    fileid: str = ""
    label: str = ""
    name: str = ""
    latest: bool = False


class GetFilesMsg(Msg):
    colonyname: str = ""
    label: str = ""


class GetFileLabelsMsg(Msg):
    colonyname: str = ""
    name: str = ""
    exact: bool = False


class RemoveFileMsg(Msg):
    colonyname: str = ""
    fileid: str = ""
    label: str = ""
    name: str = ""


class CreateSnapshotMsg(Msg):
    colonyname: str = ""
    label: str = ""
    name: str = ""


class SnapshotMsg(Msg):
    """getsnapshotmsg and removesnapshotmsg: by id, else by name."""

    colonyname: str = ""
    snapshotid: str = ""
    name: str = ""


# channels (v1.9): append-only message logs between a process's submitter and its executor
#: A payload as Go clients send ``[]byte`` (base64 text) or as pycolonies and colonies.js send it (a list of byte
#: values); ``null`` is an empty payload.
ChannelPayload = list[Annotated[int, Field(ge=0, le=255)]] | str | None


class ChannelAppendMsg(Msg):
    processid: str = ""
    name: str = ""
    #: Chosen by the sender (its own counter); kept as given, not checked for order or gaps.
    sequence: Int64 = 0
    inreplyto: Int64 = 0
    payload: ChannelPayload = None
    #: "" (= "data"), "data", "end" or "error"; the entry carries it as ``type``.
    payloadtype: str = ""


class ChannelReadMsg(Msg):
    processid: str = ""
    name: str = ""
    #: How many entries of the log to skip (a position, not a sequence number, as in the Go server).
    afterseq: Int64 = 0
    #: At most this many entries; 0 = as many as fit in one reply.
    limit: Int64 = 0


# realtime (WebSocket /pubsub)
class SubscribeProcessMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executortype: str = ""
    state: Int64 = 0
    timeout: Seconds = 0


class SubscribeColonyMsg(Msg):
    """Ours (the dashboard's live view): every process event of a colony until ``timeout``."""

    colonyname: str = ""
    timeout: Seconds = 0


class SubscribeProcessesMsg(Msg):
    colonyname: str = ""
    executortype: str = ""
    state: Int64 = 0
    timeout: Seconds = 0


# blueprints (the colony key is ``namespace`` in most of them, ``colonyname`` in three, as in the Go server)
class AddBlueprintDefinitionMsg(Msg):
    blueprintdefinition: BlueprintDefinition | None = None


class BlueprintDefinitionNameMsg(Msg):
    colonyname: str = ""
    name: str = ""


class NamespaceNameMsg(Msg):
    """removeblueprintdefinitionmsg, getblueprintmsg, removeblueprintmsg."""

    namespace: str = ""
    name: str = ""


class AddBlueprintMsg(Msg):
    blueprint: Blueprint | None = None


class GetBlueprintsMsg(Msg):
    namespace: str = ""
    kind: str = ""
    locationname: str = ""


class UpdateBlueprintMsg(Msg):
    blueprint: Blueprint | None = None
    forcegeneration: bool = False


class GetBlueprintHistoryMsg(Msg):
    blueprintid: str = ""
    limit: Int64 = 0


class UpdateBlueprintStatusMsg(Msg):
    colonyname: str = ""
    blueprintname: str = ""
    status: dict[str, Any] = Field(default_factory=dict)


class ReconcileBlueprintMsg(Msg):
    namespace: str = ""
    name: str = ""
    force: bool = False
class SubscribeChannelMsg(Msg):
    processid: str = ""
    name: str = ""
    afterseq: Int64 = 0
    timeout: Seconds = 0
