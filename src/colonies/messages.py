"""One model per RPC message (protocol §3), with the Go server's JSON keys.

Every message carries ``msgtype``; the dispatcher checks it equals the envelope's ``payloadtype`` (the signature
covers the payload, not the envelope, so this stops type swapping).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from .models import Int64, Seconds, Attribute, Colony, Executor, Function, FunctionSpec, User, Wire, WorkflowSpec


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


# realtime (WebSocket /pubsub)
class SubscribeProcessMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executortype: str = ""
    state: Int64 = 0
    timeout: Seconds = 0


class SubscribeProcessesMsg(Msg):
    colonyname: str = ""
    executortype: str = ""
    state: Int64 = 0
    timeout: Seconds = 0
