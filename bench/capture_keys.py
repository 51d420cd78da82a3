"""Which partition keys one manufacturer's captures write (issue 10, item 3's per-key proof).

Captures of ONE manufacturer go through the real `api` handler and, one payment a stream batch,
the real `projections` handler on DynamoDB Local; for every partition key of the event store and
the read models the number of captures that wrote it is counted. A key shared by all of them
would serialise the manufacturer (share 1); the payable's shards spread its conditional writes
over PAYABLE_SHARDS keys (share ~1/16). Read-model keys ending in the stream shard's id are
per-shard counters: one writer a stream shard, batched, never on a capture's conditional path;
the bench has one stream shard, so those are reported apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.dynamodb_read_models import SHARD, Ledger, Run, _pay, _project
from bench.write_units import Meter


@dataclass
class KeySpread:
    captures: int = 0
    events: Counter[str] = field(default_factory=Counter)  # key -> captures that wrote it
    models: Counter[str] = field(default_factory=Counter)
    lanes: Counter[str] = field(default_factory=Counter)  # per-stream-shard counters

    def max_share(self, keys: Counter[str]) -> float:
        return max(keys.values(), default=0) / max(self.captures, 1)


def capture_key_spread(endpoint: str, meter: Meter, captures: int = 160) -> KeySpread:
    ledger = Ledger(endpoint, meter)
    events, models = ledger.tables["events"], ledger.tables["read_models"]
    warm = Run("warm")
    _pay(ledger, warm, [1], False)  # registers the manufacturer, projects nothing counted
    _project(ledger, warm, ledger.new_records(), 100)
    spread = KeySpread()
    run = Run("captures")
    for _ in range(captures):
        _pay(ledger, run, [1], False)
        spread.events.update({k for k in meter.per_key if k.startswith(events + " ")})
        _project(ledger, run, ledger.new_records(), 100)  # one batch: this capture's records
        written = {k for k in meter.per_key if k.startswith(models)}
        spread.lanes.update({k for k in written if k.endswith("#" + SHARD)})
        spread.models.update({k for k in written if not k.endswith("#" + SHARD)})
        spread.captures += 1
    ledger.container.close()
    return spread


def report(spread: KeySpread) -> None:
    n = spread.captures
    print(f"\n  Partition keys written by {n} captures of ONE manufacturer (one payment a batch)")
    for title, keys in (("event store", spread.events), ("read models", spread.models)):
        print(f"    {title}: {len(keys)} keys, {sum(keys.values()) / n:.2f} a capture")
        for key, count in keys.most_common(4):
            print(f"      {count:5d} / {n}  {key.partition(' ')[2][:64]}")
        print(f"      max share of the captures on one key: {spread.max_share(keys):.3f}")
    print(
        f"    per-stream-shard counters (one writer a stream shard, batched): {len(spread.lanes)}"
        f" keys, max share {spread.max_share(spread.lanes):.3f} on the bench's one shard"
    )
