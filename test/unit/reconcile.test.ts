import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DirEntry, Entry, FileEntry, SymlinkEntry, TombstoneEntry } from '../../src/core/entry.ts';
import { isLive } from '../../src/core/entry.ts';
import { isWithin } from '../../src/core/path.ts';
import type { Action, Conflict, ConflictRule, Plan, SyncMode } from '../../src/core/plan.ts';
import { type ReconcileOptions, type ReplicaState, reconcile } from '../../src/core/reconcile.ts';
import { compare, merge, type VersionVector, vectorKey } from '../../src/core/vv.ts';
import { canonicalPlan, describeAction, describeEntry } from '../helpers/sim.ts';

/** 2024-05-06 07:08:00 UTC; at(s) is s seconds later (conflict stamps 20240506-0708ss). */
const T = Date.UTC(2024, 4, 6, 7, 8, 0);
const at = (s: number) => T + s * 1000;

const file = (path: string, hash: string, vv: VersionVector, mtime = T): FileEntry => ({
  kind: 'file',
  path,
  vv,
  size: hash.length,
  mtime,
  exec: false,
  hash,
});
const dir = (path: string, vv: VersionVector): DirEntry => ({ kind: 'dir', path, vv });
const link = (path: string, target: string, vv: VersionVector): SymlinkEntry => ({
  kind: 'symlink',
  path,
  vv,
  target,
});
const tomb = (path: string, vv: VersionVector): TombstoneEntry => ({ kind: 'tombstone', path, vv });

interface Case {
  readonly name: string;
  /** Replica id -> its scanned index; the key order is the run's root order. */
  readonly replicas: Readonly<Record<string, readonly Entry[]>>;
  readonly unseen?: Readonly<Record<string, readonly string[]>>;
  /** Replica id -> the vector key its changes count under (after index loss), when not its id. */
  readonly vvKeys?: Readonly<Record<string, string>>;
  readonly mode?: SyncMode;
  readonly conflict?: ConflictRule;
  /** `<replica id> <describeAction>`, any order. */
  readonly actions: readonly string[];
  /** `<path> loser=<id> winner=<id> kept=<copy|history> <rule>` */
  readonly conflicts?: readonly string[];
  readonly resurrected?: readonly string[];
}

function states(c: Case): ReplicaState[] {
  return Object.entries(c.replicas).map(([id, entries]) => {
    const vvKey = c.vvKeys?.[id];
    return {
      id,
      ...(vvKey === undefined ? {} : { vvKey }),
      entries: new Map(entries.map((e) => [e.path, e])),
      unseen: c.unseen?.[id] ?? [],
    };
  });
}

function options(c: Case): ReconcileOptions {
  return { mode: c.mode ?? 'sync', conflict: c.conflict ?? { kind: 'keep-both' } };
}

function actionLines(plan: Plan, st: readonly ReplicaState[]): string[] {
  const id = (r: number) => st[r]?.id ?? `?${r}`;
  return plan.actions.map((a: Action) => `${id(a.replica)} ${describeAction(a, id, false)}`).sort();
}

function conflictLine(c: Conflict): string {
  return `${c.path} loser=${c.loserMadeBy} winner=${c.winnerMadeBy} kept=${c.keptAs} ${c.rule}`;
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
  );
}

/** Every permutation of the replicas (mirror keeps its source first), with the options remapped. */
function* permuted(c: Case): Generator<{ st: ReplicaState[]; opts: ReconcileOptions }> {
  const base = states(c);
  const opts = options(c);
  for (const perm of permutations(base.length)) {
    if (opts.mode === 'mirror' && perm[0] !== 0) continue;
    const st = perm.map((i) => base[i] as ReplicaState);
    const rule = opts.conflict;
    const conflict: ConflictRule =
      rule.kind === 'prefer' ? { kind: 'prefer', replica: perm.indexOf(rule.replica) } : rule;
    yield { st, opts: { mode: opts.mode, conflict } };
  }
}

/** The indexes the plan leaves behind (what the engine records after applying it). */
function indexesAfter(st: readonly ReplicaState[], plan: Plan): Map<string, Entry>[] {
  const out = st.map((s) => new Map(s.entries));
  const ordered = [...plan.actions].sort(
    (a, b) => (a.type === 'rename' ? 0 : 1) - (b.type === 'rename' ? 0 : 1),
  );
  for (const a of ordered) {
    const idx = out[a.replica];
    assert.ok(idx, `action for replica ${a.replica}`);
    if (a.type === 'rename') {
      idx.set(a.to, a.entry);
      idx.set(a.path, { kind: 'tombstone', path: a.path, vv: a.current.vv });
    } else idx.set(a.entry.path, a.entry);
  }
  return out;
}

/**
 * Checks that hold for every case: the plan is the same (up to replica indexes) for every order of
 * the replicas (I7); applying it leaves every replica with the same live entries (mtime aside: equal
 * content at different mtimes is in sync); every input path
 * ends with the merged vector of all its inputs on every replica that has an entry there.
 */
function checkGeneric(c: Case, plan: Plan): void {
  const st = states(c);
  const want = canonicalPlan(plan, st);
  for (const p of permuted(c)) {
    assert.deepEqual(canonicalPlan(reconcile(p.st, p.opts), p.st), want, `order ${p.st.map((s) => s.id)}`);
  }
  const frozen = (p: string) => st.some((s) => s.unseen.some((u) => isWithin(p, u)));
  const after = indexesAfter(st, plan);
  const liveView = (idx: Map<string, Entry>) =>
    [...idx.values()]
      .filter((e) => isLive(e) && !frozen(e.path))
      .map((e) => `${e.path} ${describeEntry(e, false)}`)
      .sort();
  const first = liveView(after[0] ?? new Map());
  after.forEach((idx, r) => {
    assert.deepEqual(liveView(idx), first, `replica ${st[r]?.id} ends like ${st[0]?.id}`);
  });
  const inputPaths = new Set(st.flatMap((s) => [...s.entries.keys()]));
  for (const p of inputPaths) {
    if (frozen(p)) continue;
    let merged: VersionVector = {};
    for (const s of st) merged = merge(merged, s.entries.get(p)?.vv ?? {});
    after.forEach((idx, r) => {
      const e = idx.get(p);
      if (e === undefined) return;
      assert.equal(
        compare(e.vv, merged),
        'equal',
        `${st[r]?.id}:${p} ends @${vectorKey(e.vv)}, merged @${vectorKey(merged)}`,
      );
    });
  }
}

const cases: readonly Case[] = [
  // --- one side changed -------------------------------------------------------------------------
  {
    name: 'create on one side (N=2)',
    replicas: { A: [file('n.txt', 'h1', { A: 1 })], B: [] },
    actions: ['B put n.txt file:h1@A:1 over none from A'],
  },
  {
    name: 'create a file in a new directory on one side (N=3)',
    replicas: { A: [dir('d', { A: 1 }), file('d/n.txt', 'h1', { A: 1 })], B: [], C: [] },
    actions: [
      'B put d dir@A:1 over none from A',
      'B put d/n.txt file:h1@A:1 over none from A',
      'C put d dir@A:1 over none from A',
      'C put d/n.txt file:h1@A:1 over none from A',
    ],
  },
  {
    name: 'create on one side (N=4, the last replica)',
    replicas: { A: [], B: [], C: [], D: [file('x', 'h1', { D: 1 })] },
    actions: [
      'A put x file:h1@D:1 over none from D',
      'B put x file:h1@D:1 over none from D',
      'C put x file:h1@D:1 over none from D',
    ],
  },
  {
    name: 'modify on one side (N=3)',
    replicas: {
      A: [file('f', 'h1', { A: 1 })],
      B: [file('f', 'h2', { A: 1, B: 1 }, at(5))],
      C: [file('f', 'h1', { A: 1 })],
    },
    actions: [
      'A put f file:h2@A:1,B:1 over file:h1@A:1 from B',
      'C put f file:h2@A:1,B:1 over file:h1@A:1 from B',
    ],
  },
  {
    name: 'delete on one side: the tombstone dominates, delete elsewhere (N=3)',
    replicas: {
      A: [file('f', 'h1', { A: 1 })],
      B: [tomb('f', { A: 1, B: 1 })],
      C: [file('f', 'h1', { A: 1 })],
    },
    actions: ['A delete f tomb@A:1,B:1 over file:h1@A:1', 'C delete f tomb@A:1,B:1 over file:h1@A:1'],
  },
  {
    name: 'symlink retargeted on one side',
    replicas: { A: [link('l', 'x', { A: 1 })], B: [link('l', 'y', { A: 1, B: 1 })] },
    actions: ['A put l link:y@A:1,B:1 over link:x@A:1 from B'],
  },
  {
    name: 'no change anywhere: empty plan',
    replicas: {
      A: [dir('d', { A: 1 }), file('d/f', 'h1', { A: 1 }), tomb('g', { A: 1 })],
      B: [dir('d', { A: 1 }), file('d/f', 'h1', { A: 1 }, at(9)), tomb('g', { A: 1 })],
    },
    actions: [],
  },
  // --- equal content --------------------------------------------------------------------------
  {
    name: 'identical content created on two sides concurrently merges silently',
    replicas: { A: [file('f', 'h1', { A: 1 })], B: [file('f', 'h1', { B: 1 })] },
    actions: ['A record f file:h1@A:1,B:1', 'B record f file:h1@A:1,B:1'],
  },
  {
    name: 'identical content on two sides, a third replica gets it from both (N=3)',
    replicas: { A: [file('f', 'h1', { A: 1 })], B: [file('f', 'h1', { B: 1 })], C: [] },
    actions: [
      'A record f file:h1@A:1,B:1',
      'B record f file:h1@A:1,B:1',
      'C put f file:h1@A:1,B:1 over none from A,B',
    ],
  },
  {
    name: 'equal content under concurrent and stale vectors: records only, every replica adopts the merge',
    replicas: {
      A: [file('f', 'h1', { A: 1 })],
      B: [file('f', 'h1', { A: 1, B: 2 })],
      C: [file('f', 'h1', { A: 1, C: 1 })],
    },
    actions: [
      'A record f file:h1@A:1,B:2,C:1',
      'B record f file:h1@A:1,B:2,C:1',
      'C record f file:h1@A:1,B:2,C:1',
    ],
  },
  {
    name: 'directories made on two sides concurrently merge silently',
    replicas: { A: [dir('d', { A: 1 })], B: [dir('d', { B: 1 })] },
    actions: ['A record d dir@A:1,B:1', 'B record d dir@A:1,B:1'],
  },
  // --- conflicts: keep-both ------------------------------------------------------------------
  {
    name: 'modify on two sides: newer mtime keeps the name, the loser is renamed on its holder and put elsewhere',
    replicas: {
      A: [file('notes.txt', 'h1', { A: 2 }, at(10))],
      B: [file('notes.txt', 'h2', { A: 1, B: 1 }, at(30))],
      C: [file('notes.txt', 'h0', { A: 1 })],
    },
    actions: [
      'A rename notes.txt -> notes.sync-conflict-20240506-070810-A.txt file:h1@A:2',
      'A put notes.txt file:h2@A:2,B:1 over none from B',
      'B put notes.sync-conflict-20240506-070810-A.txt file:h1@A:2 over none from A',
      'B record notes.txt file:h2@A:2,B:1',
      'C put notes.txt file:h2@A:2,B:1 over file:h0@A:1 from B',
      'C put notes.sync-conflict-20240506-070810-A.txt file:h1@A:2 over none from A',
    ],
    conflicts: ['notes.txt loser=A winner=B kept=notes.sync-conflict-20240506-070810-A.txt keep-both'],
  },
  {
    name: 'a loser counted under a replica’s later vector key is named by that replica’s id',
    replicas: {
      A: [file('notes.txt', 'h1', { A: 1, k9: 1 }, at(10))],
      B: [file('notes.txt', 'h2', { A: 1, B: 1 }, at(30))],
    },
    vvKeys: { A: 'k9' },
    actions: [
      'A put notes.txt file:h2@A:1,B:1,k9:1 over none from B',
      'A rename notes.txt -> notes.sync-conflict-20240506-070810-A.txt file:h1@A:1,k9:1',
      'B put notes.sync-conflict-20240506-070810-A.txt file:h1@A:1,k9:1 over none from A',
      'B record notes.txt file:h2@A:1,B:1,k9:1',
    ],
    conflicts: ['notes.txt loser=A winner=B kept=notes.sync-conflict-20240506-070810-A.txt keep-both'],
  },
  {
    name: 'three concurrent versions, same mtime: each copy is named by its own maker, in any root order',
    replicas: {
      A: [file('y', 'h4', { A: 1 })],
      B: [file('y', 'h2', { B: 2 })],
      C: [file('y', 'h3', { B: 1, C: 1 })],
    },
    actions: [
      'A put y.sync-conflict-20240506-070800-B file:h2@B:2 over none from B',
      'A put y.sync-conflict-20240506-070800-C file:h3@B:1,C:1 over none from C',
      'A record y file:h4@A:1,B:2,C:1',
      'B put y file:h4@A:1,B:2,C:1 over none from A',
      'B put y.sync-conflict-20240506-070800-C file:h3@B:1,C:1 over none from C',
      'B rename y -> y.sync-conflict-20240506-070800-B file:h2@B:2',
      'C put y file:h4@A:1,B:2,C:1 over none from A',
      'C put y.sync-conflict-20240506-070800-B file:h2@B:2 over none from B',
      'C rename y -> y.sync-conflict-20240506-070800-C file:h3@B:1,C:1',
    ],
    conflicts: [
      'y loser=B winner=A kept=y.sync-conflict-20240506-070800-B keep-both',
      'y loser=C winner=A kept=y.sync-conflict-20240506-070800-C keep-both',
    ],
  },
  {
    name: 'the losing version held by two replicas is renamed on both (N=4)',
    replicas: {
      A: [file('f.md', 'h1', { A: 2 }, at(10))],
      B: [file('f.md', 'h1', { A: 2 }, at(10))],
      C: [file('f.md', 'h2', { A: 1, C: 1 }, at(20))],
      D: [],
    },
    actions: [
      'A rename f.md -> f.sync-conflict-20240506-070810-A.md file:h1@A:2',
      'A put f.md file:h2@A:2,C:1 over none from C',
      'B rename f.md -> f.sync-conflict-20240506-070810-A.md file:h1@A:2',
      'B put f.md file:h2@A:2,C:1 over none from C',
      'C record f.md file:h2@A:2,C:1',
      'C put f.sync-conflict-20240506-070810-A.md file:h1@A:2 over none from A,B',
      'D put f.md file:h2@A:2,C:1 over none from C',
      'D put f.sync-conflict-20240506-070810-A.md file:h1@A:2 over none from A,B',
    ],
    conflicts: ['f.md loser=A winner=C kept=f.sync-conflict-20240506-070810-A.md keep-both'],
  },
  {
    name: 'three concurrent modifications: two conflict copies (N=3)',
    replicas: {
      A: [file('f.txt', 'h1', { A: 2 }, at(10))],
      B: [file('f.txt', 'h2', { A: 1, B: 1 }, at(30))],
      C: [file('f.txt', 'h3', { A: 1, C: 1 }, at(20))],
    },
    actions: [
      'A rename f.txt -> f.sync-conflict-20240506-070810-A.txt file:h1@A:2',
      'A put f.txt file:h2@A:2,B:1,C:1 over none from B',
      'A put f.sync-conflict-20240506-070820-C.txt file:h3@A:1,C:1 over none from C',
      'B record f.txt file:h2@A:2,B:1,C:1',
      'B put f.sync-conflict-20240506-070810-A.txt file:h1@A:2 over none from A',
      'B put f.sync-conflict-20240506-070820-C.txt file:h3@A:1,C:1 over none from C',
      'C rename f.txt -> f.sync-conflict-20240506-070820-C.txt file:h3@A:1,C:1',
      'C put f.txt file:h2@A:2,B:1,C:1 over none from B',
      'C put f.sync-conflict-20240506-070810-A.txt file:h1@A:2 over none from A',
    ],
    conflicts: [
      'f.txt loser=A winner=B kept=f.sync-conflict-20240506-070810-A.txt keep-both',
      'f.txt loser=C winner=B kept=f.sync-conflict-20240506-070820-C.txt keep-both',
    ],
  },
  {
    name: 'equal mtimes: the larger content key wins',
    replicas: { A: [file('f', 'aaa', { A: 1 })], B: [file('f', 'bbb', { B: 1 })] },
    actions: [
      'A rename f -> f.sync-conflict-20240506-070800-A file:aaa@A:1',
      'A put f file:bbb@A:1,B:1 over none from B',
      'B record f file:bbb@A:1,B:1',
      'B put f.sync-conflict-20240506-070800-A file:aaa@A:1 over none from A',
    ],
    conflicts: ['f loser=A winner=B kept=f.sync-conflict-20240506-070800-A keep-both'],
  },
  {
    name: 'a conflict copy name already in use gets a counter',
    replicas: {
      A: [file('f', 'aaa', { A: 1 })],
      B: [file('f', 'bbb', { B: 1 }), file('f.sync-conflict-20240506-070800-A', 'old', { B: 1 })],
    },
    actions: [
      'A rename f -> f.sync-conflict-20240506-070800-A-2 file:aaa@A:1',
      'A put f file:bbb@A:1,B:1 over none from B',
      'A put f.sync-conflict-20240506-070800-A file:old@B:1 over none from B',
      'B record f file:bbb@A:1,B:1',
      'B put f.sync-conflict-20240506-070800-A-2 file:aaa@A:1 over none from A',
    ],
    conflicts: ['f loser=A winner=B kept=f.sync-conflict-20240506-070800-A-2 keep-both'],
  },
  {
    name: 'file vs dir created concurrently: the dir keeps the name, the (newer) file becomes a conflict copy',
    replicas: {
      A: [file('p', 'h1', { A: 1 }, at(10))],
      B: [dir('p', { B: 1 }), file('p/k', 'hk', { B: 1 })],
    },
    actions: [
      'A rename p -> p.sync-conflict-20240506-070810-A file:h1@A:1',
      'A put p dir@A:1,B:1 over none from B',
      'A put p/k file:hk@B:1 over none from B',
      'B put p.sync-conflict-20240506-070810-A file:h1@A:1 over none from A',
      'B record p dir@A:1,B:1',
    ],
    conflicts: ['p loser=A winner=B kept=p.sync-conflict-20240506-070810-A keep-both'],
  },
  {
    name: 'file vs symlink created concurrently: the file (newer mtime) wins, the link is kept as a copy',
    replicas: { A: [file('l', 'h1', { A: 1 }, at(10))], B: [link('l', 'target', { B: 1 })] },
    actions: [
      'A put l.sync-conflict-19700101-000000-B link:target@B:1 over none from B',
      'A record l file:h1@A:1,B:1',
      'B rename l -> l.sync-conflict-19700101-000000-B link:target@B:1',
      'B put l file:h1@A:1,B:1 over none from A',
    ],
    conflicts: ['l loser=B winner=A kept=l.sync-conflict-19700101-000000-B keep-both'],
  },
  // --- deletions -----------------------------------------------------------------------------
  {
    name: 'delete vs modify: the modification wins and the path is resurrected (N=3)',
    replicas: {
      A: [file('f', 'h1', { A: 1 })],
      B: [tomb('f', { A: 1, B: 1 })],
      C: [file('f', 'h2', { A: 1, C: 1 }, at(5))],
    },
    actions: [
      'A put f file:h2@A:1,B:1,C:1 over file:h1@A:1 from C',
      'B put f file:h2@A:1,B:1,C:1 over tomb@A:1,B:1 from C',
      'C record f file:h2@A:1,B:1,C:1',
    ],
    resurrected: ['f'],
  },
  {
    name: 'deleted on both sides: only the tombstone vectors merge; a replica that never had it does nothing',
    replicas: { A: [tomb('f', { A: 2 })], B: [tomb('f', { A: 1, B: 1 })], C: [] },
    actions: ['A record f tomb@A:2,B:1', 'B record f tomb@A:2,B:1'],
  },
  {
    name: 'deleted on both sides with the same vector: nothing to do',
    replicas: { A: [tomb('f', { A: 1, B: 1 })], B: [tomb('f', { A: 1, B: 1 })] },
    actions: [],
  },
  {
    name: 'dir deleted on one side while a file was added inside it on the other: dir resurrected, file kept',
    replicas: {
      A: [tomb('d', { A: 2 }), tomb('d/old', { A: 2 })],
      B: [dir('d', { A: 1 }), file('d/old', 'h0', { A: 1 }), file('d/new', 'h1', { B: 1 })],
    },
    actions: [
      'A put d dir@A:2 over tomb@A:2 from B',
      'A put d/new file:h1@B:1 over none from B',
      'B delete d/old tomb@A:2 over file:h0@A:1',
      'B record d dir@A:2',
    ],
    resurrected: ['d'],
  },
  {
    name: 'file replaced by a dir with children on one side, unchanged on the other',
    replicas: {
      A: [file('p', 'h0', { A: 1 })],
      B: [dir('p', { A: 1, B: 1 }), file('p/c', 'hc', { B: 1 })],
    },
    actions: ['A put p dir@A:1,B:1 over file:h0@A:1 from B', 'A put p/c file:hc@B:1 over none from B'],
  },
  {
    name: 'dir with children replaced by a file on one side, unchanged on the other',
    replicas: {
      A: [dir('p', { A: 1 }), file('p/c', 'hc', { A: 1 })],
      B: [file('p', 'h1', { A: 1, B: 1 }, at(5)), tomb('p/c', { A: 1, B: 1 })],
    },
    actions: ['A delete p/c tomb@A:1,B:1 over file:hc@A:1', 'A put p file:h1@A:1,B:1 over dir@A:1 from B'],
  },
  {
    name: 'a file replacing a dir on one side, while the other modified a child: the dir stays, the file is copied aside',
    replicas: {
      A: [dir('a', { A: 1 }), file('a/x', 'h1', { A: 2 }, at(5))],
      B: [file('a', 'hB', { A: 1, B: 1 }, at(10)), tomb('a/x', { A: 1, B: 1 })],
    },
    actions: [
      'A put a.sync-conflict-20240506-070810-B file:hB@A:1,B:1 over none from B',
      'A record a dir@A:1,B:1',
      'A record a/x file:h1@A:2,B:1',
      'B rename a -> a.sync-conflict-20240506-070810-B file:hB@A:1,B:1',
      'B put a dir@A:1,B:1 over none from A',
      'B put a/x file:h1@A:2,B:1 over tomb@A:1,B:1 from A',
    ],
    conflicts: ['a loser=B winner=A kept=a.sync-conflict-20240506-070810-B keep-both'],
    resurrected: ['a/x'],
  },
  // --- other conflict rules ------------------------------------------------------------------
  {
    name: '--conflict newest: the loser is not copied; it is replaced (via history)',
    conflict: { kind: 'newest' },
    replicas: {
      A: [file('f.txt', 'h1', { A: 2 }, at(10))],
      B: [file('f.txt', 'h2', { A: 1, B: 1 }, at(30))],
    },
    actions: ['A put f.txt file:h2@A:2,B:1 over file:h1@A:2 from B', 'B record f.txt file:h2@A:2,B:1'],
    conflicts: ['f.txt loser=A winner=B kept=history newest'],
  },
  {
    name: '--conflict prefer=A: the preferred replica wins even with the older mtime',
    conflict: { kind: 'prefer', replica: 0 },
    replicas: {
      A: [file('f.txt', 'h1', { A: 2 }, at(10))],
      B: [file('f.txt', 'h2', { A: 1, B: 1 }, at(30))],
    },
    actions: ['A record f.txt file:h1@A:2,B:1', 'B put f.txt file:h1@A:2,B:1 over file:h2@A:1,B:1 from A'],
    conflicts: ['f.txt loser=B winner=A kept=history prefer'],
  },
  {
    name: '--conflict prefer=C where C is not in the conflict: both kept as with keep-both',
    conflict: { kind: 'prefer', replica: 2 },
    replicas: {
      A: [file('f.txt', 'h1', { A: 2 }, at(10))],
      B: [file('f.txt', 'h2', { A: 1, B: 1 }, at(30))],
      C: [file('f.txt', 'h0', { A: 1 })],
    },
    actions: [
      'A rename f.txt -> f.sync-conflict-20240506-070810-A.txt file:h1@A:2',
      'A put f.txt file:h2@A:2,B:1 over none from B',
      'B put f.sync-conflict-20240506-070810-A.txt file:h1@A:2 over none from A',
      'B record f.txt file:h2@A:2,B:1',
      'C put f.txt file:h2@A:2,B:1 over file:h0@A:1 from B',
      'C put f.sync-conflict-20240506-070810-A.txt file:h1@A:2 over none from A',
    ],
    conflicts: ['f.txt loser=A winner=B kept=f.sync-conflict-20240506-070810-A.txt keep-both'],
  },
  {
    name: '--conflict prefer=A never renames a directory away: the dir wins, the file is copied',
    conflict: { kind: 'prefer', replica: 0 },
    replicas: { A: [file('p', 'h1', { A: 1 }, at(10))], B: [dir('p', { B: 1 })] },
    actions: [
      'A rename p -> p.sync-conflict-20240506-070810-A file:h1@A:1',
      'A put p dir@A:1,B:1 over none from B',
      'B put p.sync-conflict-20240506-070810-A file:h1@A:1 over none from A',
      'B record p dir@A:1,B:1',
    ],
    conflicts: ['p loser=A winner=B kept=p.sync-conflict-20240506-070810-A keep-both'],
  },
  // --- mirror --------------------------------------------------------------------------------
  {
    name: 'mirror: extra target files deleted, target edits overwritten, source deletions propagate',
    mode: 'mirror',
    replicas: {
      A: [file('f', 'h1', { A: 1 }), tomb('g', { A: 2 }), file('h', 'hh', { A: 1 })],
      B: [
        file('f', 'h2', { A: 1, B: 1 }, at(5)),
        file('g', 'hg', { A: 1 }),
        tomb('h', { A: 1, B: 1 }),
        file('x', 'hx', { B: 1 }),
      ],
      C: [file('f', 'h1', { A: 1 }), file('g', 'hg', { A: 1 }), file('h', 'hh', { A: 1 })],
    },
    actions: [
      'A record f file:h1@A:1,B:1',
      'A record h file:hh@A:1,B:1',
      'B put f file:h1@A:1,B:1 over file:h2@A:1,B:1 from A,C',
      'B delete g tomb@A:2 over file:hg@A:1',
      'B put h file:hh@A:1,B:1 over tomb@A:1,B:1 from A,C',
      'B delete x tomb@B:1 over file:hx@B:1',
      'C record f file:h1@A:1,B:1',
      'C delete g tomb@A:2 over file:hg@A:1',
      'C record h file:hh@A:1,B:1',
    ],
  },
  {
    name: 'mirror: a target directory where the source has a file is emptied and replaced',
    mode: 'mirror',
    replicas: {
      A: [file('p', 'h1', { A: 1 })],
      B: [dir('p', { B: 1 }), file('p/c', 'hc', { B: 1 })],
    },
    actions: [
      'A record p file:h1@A:1,B:1',
      'B delete p/c tomb@B:1 over file:hc@B:1',
      'B put p file:h1@A:1,B:1 over dir@B:1 from A',
    ],
  },
  // --- unseen --------------------------------------------------------------------------------
  {
    name: 'a subtree one replica could not scan is frozen on every replica',
    unseen: { A: ['d'] },
    replicas: {
      A: [dir('d', { A: 1 }), file('d/x', 'h1', { A: 1 })],
      B: [
        dir('d', { A: 1 }),
        file('d/x', 'h2', { A: 1, B: 1 }),
        file('d/y', 'hy', { B: 1 }),
        file('e', 'he', { B: 1 }),
      ],
    },
    actions: ['A put e file:he@B:1 over none from B'],
  },
  {
    name: 'an unreadable nested subtree on B freezes A’s changes in it; siblings still sync',
    unseen: { B: ['d/sub'] },
    replicas: {
      A: [
        dir('d', { A: 1 }),
        dir('d/sub', { A: 1 }),
        file('d/sub/f', 'h2', { A: 2 }, at(5)),
        tomb('d/sub/gone', { A: 2 }),
        file('d/g', 'hg', { A: 2 }, at(5)),
      ],
      B: [
        dir('d', { A: 1 }),
        dir('d/sub', { A: 1 }),
        file('d/sub/f', 'h1', { A: 1 }),
        file('d/sub/gone', 'h9', { A: 1 }),
        file('d/g', 'h0', { A: 1 }),
      ],
    },
    actions: ['B put d/g file:hg@A:2 over file:h0@A:1 from A'],
  },
  // --- lagging replicas ----------------------------------------------------------------------
  {
    name: 'N=4: one replica lagging one version behind gets the new version',
    replicas: {
      A: [file('f', 'h2', { A: 2 })],
      B: [file('f', 'h2', { A: 2 })],
      C: [file('f', 'h2', { A: 2 })],
      D: [file('f', 'h1', { A: 1 })],
    },
    actions: ['D put f file:h2@A:2 over file:h1@A:1 from A,B,C'],
  },
  {
    name: 'N=4: replicas lagging by different amounts all get the newest version',
    replicas: {
      A: [file('f', 'h3', { A: 2, B: 1 })],
      B: [file('f', 'h3', { A: 2, B: 1 })],
      C: [file('f', 'h2', { A: 1, B: 1 })],
      D: [file('f', 'h1', { A: 1 })],
    },
    actions: [
      'C put f file:h3@A:2,B:1 over file:h2@A:1,B:1 from A,B',
      'D put f file:h3@A:2,B:1 over file:h1@A:1 from A,B',
    ],
  },
  {
    name: 'N=3: a lagging replica gets a deletion it has not seen',
    replicas: {
      A: [tomb('f', { A: 1, B: 1 })],
      B: [tomb('f', { A: 1, B: 1 })],
      C: [file('f', 'h1', { A: 1 })],
    },
    actions: ['C delete f tomb@A:1,B:1 over file:h1@A:1'],
  },
  {
    name: 'N=3: a lagging replica that still has a tombstone gets the re-created file',
    replicas: {
      A: [file('f', 'h2', { A: 2, B: 1 })],
      B: [file('f', 'h2', { A: 2, B: 1 })],
      C: [tomb('f', { A: 1, B: 1 })],
    },
    actions: ['C put f file:h2@A:2,B:1 over tomb@A:1,B:1 from A,B'],
  },
];

describe('reconcile: table', () => {
  for (const c of cases) {
    it(c.name, () => {
      const st = states(c);
      const plan = reconcile(st, options(c));
      assert.deepEqual(actionLines(plan, st), [...c.actions].sort(), 'actions');
      assert.deepEqual(plan.conflicts.map(conflictLine).sort(), [...(c.conflicts ?? [])].sort(), 'conflicts');
      assert.deepEqual([...plan.resurrected].sort(), [...(c.resurrected ?? [])].sort(), 'resurrected');
      checkGeneric(c, plan);
    });
  }
});

describe('reconcile: determinism (I7)', () => {
  it('the winner and the conflict copy do not depend on which holder of a shared version is listed first', () => {
    // h1 was made independently on A (older) and B (newer); C made h2 in between.
    const c: Case = {
      name: 'shared version with two mtimes',
      replicas: {
        A: [file('f.txt', 'h1', { A: 1 }, at(10))],
        B: [file('f.txt', 'h1', { B: 1 }, at(30))],
        C: [file('f.txt', 'h2', { C: 1 }, at(20))],
      },
      actions: [],
    };
    const outcomes = new Set<string>();
    for (const p of permuted(c)) {
      const plan = reconcile(p.st, p.opts);
      const after = indexesAfter(p.st, plan)[0] ?? new Map<string, Entry>();
      const live = [...after.values()].filter(isLive).map((e) => `${e.path}=${describeEntry(e, false)}`);
      outcomes.add(live.sort().join(' '));
    }
    assert.equal(outcomes.size, 1, `different outcomes by replica order:\n${[...outcomes].join('\n')}`);
  });
});
