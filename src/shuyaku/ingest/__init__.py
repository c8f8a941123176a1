"""Ingest: the top floor that takes one inbound file through every feature.

``service.ingest_paths`` (files in order, in this process or in workers) → ``inbound`` (one
file: envelope, 連番, containment, validation, one transaction, the ledger) → ``apply``
(qualification, queueing the persons whose household may have changed; or kogaku); at the
run's end ``judge`` (世帯の継続性 → 多数回 over the whole queue); ``returns`` writes what
goes back (KKKK, IDTB, KZKH, TSKG) through the outbox. Nothing below imports this package.
"""
