"""`shuyaku vault rotate-index-key`: a new index key, every blind index re-computed."""

from __future__ import annotations

import logging

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.context import Context
from shuyaku.vault.service import rekey_blind_indexes

log = logging.getLogger("shuyaku.vault")


def rotate_index_key(ctx: Context, actor: Actor) -> tuple[int, int]:
    """Returns (new key version, entries re-keyed). The new key file is written first and
    becomes current only after the transaction that re-keyed every entry has committed;
    if anything fails, the old key stays current and the database unchanged."""
    trail.require(ctx, actor, "vault.rotate")
    version = ctx.keyring.rotate("index")
    with ctx.engine.begin() as conn:
        count = rekey_blind_indexes(conn, ctx.keyring, version, ctx.clock())
        trail.append(
            conn,
            actor,
            [
                trail.Event(
                    "vault.rotate",
                    target=f"index v{version}",
                    purpose=trail.purpose_of("vault.rotate"),
                    row_count=count,
                )
            ],
            ctx.clock(),
        )
    ctx.keyring.make_current("index", version)
    ctx.__dict__.pop("vault", None)  # the cached Vault holds the old key
    log.info("index key rotated by=%s version=%s entries=%s", actor.login_id, version, count)
    return version, count
