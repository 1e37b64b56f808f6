// Runs ioredis and node-redis against the Estoraje node on 127.0.0.1:<port> (argv[2]).
// Exits 0 when every check passes; prints the failing check otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis from 'ioredis';
import { createClient } from 'redis';

const port = Number(process.argv[2]);
assert.ok(port > 0, 'usage: node smoke.mjs <port>');

test('ioredis: ready check, strings, expiry, pipelines', async () => {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    assert.equal(await r.set('io:k', 'v'), 'OK');
    assert.equal(await r.get('io:k'), 'v');
    assert.equal(await r.set('io:k', 'w', 'NX'), null);
    assert.equal(await r.incr('io:n'), 1);
    assert.equal(await r.incrby('io:n', 41), 42);
    assert.equal(await r.expire('io:k', 100), 1);
    const ttl = await r.ttl('io:k');
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    assert.deepEqual(await r.mget('io:k', 'io:missing', 'io:n'), ['v', null, '42']);

    const pipeline = r.pipeline();
    for (let i = 0; i < 1000; i++) pipeline.set(`io:p:${i}`, `value-${i}`);
    for (let i = 0; i < 1000; i++) pipeline.get(`io:p:${i}`);
    const results = await pipeline.exec();
    assert.equal(results.length, 2000);
    for (let i = 0; i < 1000; i++) {
      assert.deepEqual(results[i], [null, 'OK']);
      assert.deepEqual(results[1000 + i], [null, `value-${i}`]);
    }

    await assert.rejects(r.call('NOSUCHCOMMAND'), /unknown command/);
    assert.equal(await r.del('io:k', 'io:n'), 2);
  } finally {
    r.disconnect();
  }
});

test('node-redis: RESP3 handshake, strings, expiry, pipelining', async () => {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, RESP: 3 });
  client.on('error', () => {});
  await client.connect();
  try {
    assert.equal(await client.set('nr:k', 'v'), 'OK');
    assert.equal(await client.get('nr:k'), 'v');
    assert.equal(await client.get('nr:missing'), null);
    assert.equal(await client.set('nr:k', 'w', { condition: 'XX', expiration: { type: 'EX', value: 100 } }), 'OK');
    const ttl = await client.ttl('nr:k');
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    assert.equal(await client.incrByFloat('nr:f', 1.5), '1.5');
    assert.equal(await client.exists(['nr:k', 'nr:f', 'nr:none']), 2);

    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.set(`nr:p:${i}`, `${i}`)));
    assert.ok(replies.every((r) => r === 'OK'));
    const values = await client.mGet(Array.from({ length: 1000 }, (_, i) => `nr:p:${i}`));
    values.forEach((v, i) => assert.equal(v, `${i}`));

    assert.equal(await client.del(['nr:k', 'nr:f']), 2);
  } finally {
    client.destroy();
  }
});
