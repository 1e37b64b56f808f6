// MULTI/EXEC, WATCH and pipelines with ioredis and node-redis against the Estoraje node (or the load balancer in
// front of a cluster) on 127.0.0.1:<port> (argv[2]). Every transaction's keys share a hash tag: one slot.
// Exits 0 when every check passes; prints the failing check otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis from 'ioredis';
import { createClient, MultiErrorReply, WatchError } from 'redis';

const port = Number(process.argv[2]);
assert.ok(port > 0, 'usage: node transactions.mjs <port>');
const run = `${process.pid}-${Date.now()}`;

test('ioredis: multi/exec, runtime errors, EXECABORT, watch, multi without pipeline, pipelines', async () => {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  const other = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  await other.connect();
  const k = (name) => `{io:tx:${run}}${name}`;
  try {
    assert.deepEqual(await r.multi().set(k('a'), '1').incr(k('a')).get(k('a')).exec(), [[null, 'OK'], [null, 2], [null, '2']]);

    await r.set(k('s'), 'text');
    const mixed = await r.multi().incr(k('s')).set(k('b'), 'y').exec();
    assert.match(mixed[0][0].message, /not an integer/);
    assert.deepEqual(mixed[1], [null, 'OK']);

    await assert.rejects(r.multi().call('SET', k('c')).set(k('c'), 'never').exec(), /EXECABORT Transaction discarded because of previous errors/);
    assert.equal(await r.exists(k('c')), 0);

    assert.equal(await r.watch(k('w')), 'OK');
    await other.set(k('w'), 'theirs');
    assert.equal(await r.multi().set(k('w'), 'mine').exec(), null);
    assert.equal(await r.get(k('w')), 'theirs');
    assert.equal(await r.watch(k('w')), 'OK');
    assert.deepEqual(await r.multi().set(k('w'), 'mine').exec(), [[null, 'OK']]);

    assert.equal(await r.multi({ pipeline: false }), 'OK');
    assert.equal(await r.incr(k('n')), 'QUEUED');
    assert.equal(await r.incr(k('n')), 'QUEUED');
    assert.deepEqual(await r.exec(), [[null, 1], [null, 2]]);
    assert.equal(await r.multi({ pipeline: false }), 'OK');
    assert.equal(await r.set(k('n'), 'discarded'), 'QUEUED');
    assert.equal(await r.discard(), 'OK');
    assert.equal(await r.get(k('n')), '2');

    const pipeline = r.pipeline();
    for (let i = 0; i < 200; i++) pipeline.set(`io:tx:${run}:p:${i}`, `${i}`);
    pipeline.multi().incr(k('n')).get(k('n')).exec();
    for (let i = 0; i < 200; i++) pipeline.get(`io:tx:${run}:p:${i}`);
    const results = await pipeline.exec();
    assert.equal(results.length, 200 + 4 + 200);
    assert.deepEqual(results.slice(200, 204), [[null, 'OK'], [null, 'QUEUED'], [null, 'QUEUED'], [null, [3, '3']]]);
    for (let i = 0; i < 200; i++) assert.deepEqual(results[204 + i], [null, `${i}`]);
  } finally {
    r.disconnect();
    other.disconnect();
  }
});

test('node-redis: multi/exec in RESP3, runtime errors, watch, execAsPipeline', async () => {
  const connect = async () => {
    const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, RESP: 3 });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const client = await connect();
  const other = await connect();
  const k = (name) => `{nr:tx:${run}}${name}`;
  try {
    assert.deepEqual(await client.multi().set(k('a'), '1').incr(k('a')).get(k('a')).exec(), ['OK', 2, '2']);

    await client.set(k('s'), 'text');
    const failed = await client.multi().incr(k('s')).set(k('b'), 'y').exec().then(() => null, (e) => e);
    assert.ok(failed instanceof MultiErrorReply, `expected a MultiErrorReply, got ${failed}`);
    assert.deepEqual(failed.errorIndexes, [0]);
    assert.equal(failed.replies[1], 'OK');

    assert.equal(await client.watch(k('w')), 'OK');
    await other.set(k('w'), 'theirs');
    await assert.rejects(client.multi().set(k('w'), 'mine').exec(), WatchError);
    assert.equal(await client.get(k('w')), 'theirs');
    assert.equal(await client.watch(k('w')), 'OK');
    assert.deepEqual(await client.multi().set(k('w'), 'mine').exec(), ['OK']);
    assert.equal(await other.get(k('w')), 'mine');

    assert.deepEqual(await client.multi().set(k('p'), '1').incr(k('p')).get(k('p')).execAsPipeline(), ['OK', 2, '2']);
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => client.multi().incr(k('c')).get(k('c')).exec()));
    const seen = concurrent.map(([n, v]) => { assert.equal(`${n}`, v); return n; }).sort((x, y) => x - y);
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i + 1));
  } finally {
    client.destroy();
    other.destroy();
  }
});
