'use strict';
// BullMQ's 3-job flow chain: the peer of `keel bench --workload W4`.
//
// N flows (W4_RUNS or the first argument, default 10000) are added by 16 concurrent producers
// (W4_PRODUCERS), each with its own FlowProducer and Redis connection, each adding its next flow
// as soon as the previous add was answered. A flow is c with child b with child a, all on queue
// `w4`; BullMQ runs children first, so a → b → c. 4 Worker instances (W4_WORKERS) in this process,
// concurrency 100 each (W4_CONCURRENCY: as each of keel's 4 W4 workers holds up to 100 tasks
// leased by one poll; with 1, only 4 jobs are ever in flight and BullMQ does about half as
// many flows per second), do every job: a returns {n: 1} from its data {n: 0}, b and
// c read their child's return value with getChildrenValues() (as keel's b and c get the previous
// step's output as input) and return {n: n+1}. The clock runs from the first add until every c
// has completed (the workers' `completed` events); per flow, add → c completed, p50/p99.
// At the end the queue must hold 3N completed jobs, none failed, and every c must have returned
// {n: 3}. Prints one line:
//   RESULT peer=bullmq workload=W4 runs=N seconds=S runs_per_s=R p50_ms=A p99_ms=B ... durable=0|1
const { FlowProducer, Queue, Worker } = require('bullmq');

const env = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`flow.js: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};

const runs = process.argv[2] !== undefined ? Number(process.argv[2]) : env('W4_RUNS', 10000);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`flow.js: runs must be a positive integer, got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}
const producers = env('W4_PRODUCERS', 16);
const workers = env('W4_WORKERS', 4);
const concurrency = env('W4_CONCURRENCY', 100);
const port = env('REDIS_PORT', 6379);
const durable = process.env.W4_DURABLE === '1' ? 1 : 0;
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const queueName = 'w4';

const addedAt = new Float64Array(runs);
const doneAt = new Float64Array(runs);
let completedC = 0;
let failed = 0;
let badOutputs = 0;
let finish;
const allDone = new Promise((resolve) => (finish = resolve));

async function childN(job) {
  const values = Object.values(await job.getChildrenValues());
  if (values.length !== 1 || typeof values[0].n !== 'number') {
    throw new Error(`job ${job.id} (${job.name}): expected one child value with n, got ${JSON.stringify(values)}`);
  }
  return values[0].n;
}

async function processor(job) {
  const n = job.name === 'a' ? job.data.n : await childN(job);
  return { n: n + 1 };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

async function main() {
  const queue = new Queue(queueName, { connection });
  await queue.waitUntilReady();
  const ws = [];
  for (let i = 0; i < workers; i++) {
    const w = new Worker(queueName, processor, { connection, concurrency });
    w.on('completed', (job, result) => {
      if (job.name !== 'c') return;
      const i = job.data.flow;
      if (!result || result.n !== 3) badOutputs++;
      if (doneAt[i] === 0) {
        doneAt[i] = performance.now();
        if (++completedC === runs) finish();
      }
    });
    w.on('failed', (job, err) => {
      failed++;
      if (failed <= 5) console.error(`flow.js: job ${job && job.id} failed: ${err && err.message}`);
    });
    w.on('error', (err) => console.error(`flow.js: worker error: ${err.message}`));
    ws.push(w);
  }
  await Promise.all(ws.map((w) => w.waitUntilReady()));

  const fps = [];
  for (let i = 0; i < producers; i++) fps.push(new FlowProducer({ connection }));
  await Promise.all(fps.map((fp) => fp.waitUntilReady()));

  let next = 0;
  const start = performance.now();
  const producer = async (fp) => {
    for (;;) {
      const i = next++;
      if (i >= runs) return;
      addedAt[i] = performance.now();
      await fp.add({
        name: 'c',
        queueName,
        data: { flow: i },
        children: [
          {
            name: 'b',
            queueName,
            data: { flow: i },
            children: [{ name: 'a', queueName, data: { flow: i, n: 0 } }],
          },
        ],
      });
    }
  };
  const progress = setInterval(() => console.error(`flow.js: ${completedC}/${runs} flows done`), 2000);
  await Promise.all(fps.map(producer));
  await allDone;
  const end = performance.now();
  clearInterval(progress);

  const seconds = (end - start) / 1000;
  const lat = new Float64Array(runs);
  for (let i = 0; i < runs; i++) lat[i] = doneAt[i] - addedAt[i];
  lat.sort();

  await Promise.all(ws.map((w) => w.close()));
  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'waiting-children');
  await Promise.all(fps.map((fp) => fp.close()));
  await queue.close();

  const ok = counts.completed === 3 * runs && counts.failed === 0 && failed === 0 && badOutputs === 0;
  console.log(
    `RESULT peer=bullmq workload=W4 runs=${runs} seconds=${seconds.toFixed(3)}` +
      ` runs_per_s=${Math.round(runs / seconds)} p50_ms=${percentile(lat, 50).toFixed(3)}` +
      ` p99_ms=${percentile(lat, 99).toFixed(3)} jobs_completed=${counts.completed}` +
      ` jobs_failed=${counts.failed} bad_outputs=${badOutputs} producers=${producers}` +
      ` workers=${workers} concurrency=${concurrency} durable=${durable}`
  );
  if (!ok) {
    console.error(`flow.js: FAILED: expected ${3 * runs} completed and none failed, got ${JSON.stringify(counts)}, ${failed} failed events, ${badOutputs} wrong outputs`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(`flow.js: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
