"""Server-level messages: version, info, statistics, cluster, server id."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from .. import replicas
from ..auth import require_server_owner
from ..context import Context
from .common import check_id


async def version(ctx: Context, msg: m.VersionMsg) -> Any:
    """versionmsg — anyone, unsigned."""
    s = ctx.settings
    return {"buildversion": s.build_version, "buildtime": s.build_time, "msgtype": "versionmsg"}


async def get_server_info(ctx: Context, msg: m.GetServerInfoMsg) -> Any:
    """getserverinfomsg — anyone, unsigned."""
    s = ctx.settings
    return {
        "buildversion": s.build_version,
        "buildtime": s.build_time,
        "backends": [{"type": "http", "port": s.port, "host": s.host}],
        "instanceid": ctx.state.instance_id,  # ours: clients bind signed requests to it (their "audience")
    }


async def get_statistics(ctx: Context, msg: m.GetStatisticsMsg) -> Any:
    """getstatisticsmsg — server owner."""
    await require_server_owner(ctx)
    return await ctx.storage.get_statistics()


async def get_cluster(ctx: Context, msg: m.GetClusterMsg) -> Any:
    """getclustermsg — server owner. The live replicas on this database (each refreshes its row) and the leader
    (the holder of the database's leader lock), as Go ``Node``s without etcd ports."""
    await require_server_owner(ctx)
    return await replicas.cluster(ctx.state)


async def change_server_id(ctx: Context, msg: m.ChangeServerIDMsg) -> Any:
    """changeserveridmsg — server owner; replies with the request, as the Go server does."""
    await require_server_owner(ctx)
    check_id(msg.serverid, "server id")
    await ctx.storage.set_server_id(msg.serverid)
    return {"serverid": msg.serverid, "msgtype": msg.msgtype}
