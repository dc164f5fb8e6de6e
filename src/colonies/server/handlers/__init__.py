"""HANDLERS: payloadtype → (message model, handler). This table is the map of the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ... import messages as m
from . import (
    attributes, blueprints, channels, colonies, crons, executors, files, functions, generators, locations, logs,
    pauses, processes,
    server, users, workflows,
)

Handler = Callable[[Any, Any], Awaitable[Any]]

HANDLERS: dict[str, tuple[type[m.Msg], Handler]] = {
    # server
    "versionmsg": (m.VersionMsg, server.version),
    "getserverinfomsg": (m.GetServerInfoMsg, server.get_server_info),
    "getstatisticsmsg": (m.GetStatisticsMsg, server.get_statistics),
    "getclustermsg": (m.GetClusterMsg, server.get_cluster),
    "changeserveridmsg": (m.ChangeServerIDMsg, server.change_server_id),
    # colonies
    "addcolonymsg": (m.AddColonyMsg, colonies.add_colony),
    "removecolonymsg": (m.ColonyNameMsg, colonies.remove_colony),
    "getcoloniesmsg": (m.Msg, colonies.get_colonies),
    "getcolonymsg": (m.ColonyNameMsg, colonies.get_colony),
    "getcolonystatsmsg": (m.ColonyNameMsg, colonies.get_colony_statistics),
    "changecolonyidmsg": (m.ChangeColonyIDMsg, colonies.change_colony_id),
    # users
    "addusermsg": (m.AddUserMsg, users.add_user),
    "getusersmsg": (m.ColonyNameMsg, users.get_users),
    "getusermsg": (m.UserNameMsg, users.get_user),
    "getuserbyidmsg": (m.GetUserByIDMsg, users.get_user_by_id),
    "removeusermsg": (m.UserNameMsg, users.remove_user),
    "changeuseridmsg": (m.ChangeUserIDMsg, users.change_user_id),
    # executors
    "addexecutormsg": (m.AddExecutorMsg, executors.add_executor),
    "getexecutorsmsg": (m.ColonyNameMsg, executors.get_executors),
    "getexecutormsg": (m.ExecutorNameMsg, executors.get_executor),
    "getexecutorbyidmsg": (m.GetExecutorByIDMsg, executors.get_executor_by_id),
    "approveexecutormsg": (m.ExecutorNameMsg, executors.approve_executor),
    "rejectexecutormsg": (m.ExecutorNameMsg, executors.reject_executor),
    "removeexecutormsg": (m.ExecutorNameMsg, executors.remove_executor),
    "changeexecutoridmsg": (m.ChangeExecutorIDMsg, executors.change_executor_id),
    "updateexecutormsg": (m.UpdateExecutorMsg, executors.update_executor),
    "reportallocationmsg": (m.ReportAllocationMsg, executors.report_allocation),
    # functions
    "addfunctionmsg": (m.AddFunctionMsg, functions.add_function),
    "getfunctionsmsg": (m.GetFunctionsMsg, functions.get_functions),
    "removefunctionmsg": (m.RemoveFunctionMsg, functions.remove_function),
    # processes
    "submitfuncspecmsg": (m.SubmitFuncSpecMsg, processes.submit_func_spec),
    "assignprocessmsg": (m.AssignProcessMsg, processes.assign_process),
    "getprocesshistmsg": (m.GetProcessHistMsg, processes.get_process_hist),
    "getprocessesmsg": (m.GetProcessesMsg, processes.get_processes),
    "getprocessmsg": (m.ProcessIDMsg, processes.get_process),
    "removeprocessmsg": (m.ProcessIDMsg, processes.remove_process),
    "removeallprocessesmsg": (m.RemoveAllMsg, processes.remove_all_processes),
    "closesuccessfulmsg": (m.CloseSuccessfulMsg, processes.close_successful),
    "closefailedmsg": (m.CloseFailedMsg, processes.close_failed),
    "setoutputmsg": (m.SetOutputMsg, processes.set_output),
    "cancelprocessmsg": (m.ProcessIDMsg, processes.cancel_process),
    "pauseassignmentsmsg": (m.ColonyNameMsg, pauses.pause_assignments),
    "resumeassignmentsmsg": (m.ColonyNameMsg, pauses.resume_assignments),
    "getpausestatusmsg": (m.ColonyNameMsg, pauses.get_pause_status),
    # workflows
    "submitworkflowspecmsg": (m.SubmitWorkflowSpecMsg, workflows.submit_workflow_spec),
    "getprocessgraphmsg": (m.ProcessGraphIDMsg, workflows.get_process_graph),
    "getprocessgraphsmsg": (m.GetProcessGraphsMsg, workflows.get_process_graphs),
    "removeprocessgraphmsg": (m.ProcessGraphIDMsg, workflows.remove_process_graph),
    "removeallprocessgraphsmsg": (m.RemoveAllMsg, workflows.remove_all_process_graphs),
    "cancelprocessgraphmsg": (m.ProcessGraphIDMsg, workflows.cancel_process_graph),
    "addchildmsg": (m.AddChildMsg, workflows.add_child),
    # attributes
    "addattributemsg": (m.AddAttributeMsg, attributes.add_attribute),
    "getattributemsg": (m.GetAttributeMsg, attributes.get_attribute),
    # logs
    "addlogmsg": (m.AddLogMsg, logs.add_log),
    "addexecutorlogmsg": (m.AddExecutorLogMsg, logs.add_executor_log),
    "getlogsmsg": (m.GetLogsMsg, logs.get_logs),
    "searchlogsmsg": (m.SearchLogsMsg, logs.search_logs),
    # crons
    "addcronmsg": (m.AddCronMsg, crons.add_cron),
    "getcronmsg": (m.CronIDMsg, crons.get_cron),
    "getcronsmsg": (m.GetCronsMsg, crons.get_crons),
    "runcronmsg": (m.CronIDMsg, crons.run_cron),
    "removecronmsg": (m.CronIDMsg, crons.remove_cron),
    "getcronrunsmsg": (m.GetCronRunsMsg, crons.get_cron_runs),
    # locations
    "addlocationmsg": (m.AddLocationMsg, locations.add_location),
    "getlocationsmsg": (m.ColonyNameMsg, locations.get_locations),
    "getlocationmsg": (m.LocationNameMsg, locations.get_location),
    "removelocationmsg": (m.LocationNameMsg, locations.remove_location),
    # files and snapshots (ColonyFS metadata)
    "addfilemsg": (m.AddFileMsg, files.add_file),
    "getfilemsg": (m.GetFileMsg, files.get_file),
    "getfilesmsg": (m.GetFilesMsg, files.get_files),
    "getfilelabelsmsg": (m.GetFileLabelsMsg, files.get_file_labels),
    "removefilemsg": (m.RemoveFileMsg, files.remove_file),
    "createsnapshotmsg": (m.CreateSnapshotMsg, files.create_snapshot),
    "getsnapshotmsg": (m.SnapshotMsg, files.get_snapshot),
    "getsnapshotsmsg": (m.ColonyNameMsg, files.get_snapshots),
    "removesnapshotmsg": (m.SnapshotMsg, files.remove_snapshot),
    "removeallsnapshotmsg": (m.ColonyNameMsg, files.remove_all_snapshots),
    # generators
    "addgeneratormsg": (m.AddGeneratorMsg, generators.add_generator),
    "getgeneratormsg": (m.GeneratorIDMsg, generators.get_generator),
    "resolvegeneratormsg": (m.ResolveGeneratorMsg, generators.resolve_generator),
    "getgeneratorsmsg": (m.GetGeneratorsMsg, generators.get_generators),
    "packgeneratormsg": (m.PackGeneratorMsg, generators.pack_generator),
    "removegeneratormsg": (m.GeneratorIDMsg, generators.remove_generator),
    "getgeneratorrunsmsg": (m.GetGeneratorRunsMsg, generators.get_generator_runs),
    # blueprints
    "addblueprintdefinitionmsg": (m.AddBlueprintDefinitionMsg, blueprints.add_blueprint_definition),
    "getblueprintdefinitionmsg": (m.BlueprintDefinitionNameMsg, blueprints.get_blueprint_definition),
    "getblueprintdefinitionsmsg": (m.ColonyNameMsg, blueprints.get_blueprint_definitions),
    "removeblueprintdefinitionmsg": (m.NamespaceNameMsg, blueprints.remove_blueprint_definition),
    "addblueprintmsg": (m.AddBlueprintMsg, blueprints.add_blueprint),
    "getblueprintmsg": (m.NamespaceNameMsg, blueprints.get_blueprint),
    "getblueprintsmsg": (m.GetBlueprintsMsg, blueprints.get_blueprints),
    "updateblueprintmsg": (m.UpdateBlueprintMsg, blueprints.update_blueprint),
    "removeblueprintmsg": (m.NamespaceNameMsg, blueprints.remove_blueprint),
    "getblueprinthistorymsg": (m.GetBlueprintHistoryMsg, blueprints.get_blueprint_history),
    "updateblueprintstatusmsg": (m.UpdateBlueprintStatusMsg, blueprints.update_blueprint_status),
    "reconcileblueprintmsg": (m.ReconcileBlueprintMsg, blueprints.reconcile_blueprint),
    # channels (subscribechannelmsg is served by /pubsub)
    "channelappendmsg": (m.ChannelAppendMsg, channels.channel_append),
    "channelreadmsg": (m.ChannelReadMsg, channels.channel_read),
}

#: Answered without a signature (protocol §1.4).
UNSIGNED = frozenset({"versionmsg", "getserverinfomsg"})
#: Replies whose payloadtype differs from the request's.
REPLY_TYPES: dict[str, str] = {"getpausestatusmsg": "pausestatusreplymsg"}
