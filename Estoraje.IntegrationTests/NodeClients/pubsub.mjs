// Pub/sub with ioredis and node-redis: subscribers connect to 127.0.0.1:<port> (argv[2]), publishers to
// 127.0.0.1:<publisher port> (argv[3], the same port when absent; another node of a cluster otherwise).
// Exits 0 when every check passes; prints the failing check otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis from 'ioredis';
import { createClient } from 'redis';

const port = Number(process.argv[2]);
const publisherPort = Number(process.argv[3] ?? process.argv[2]);
assert.ok(port > 0 && publisherPort > 0, 'usage: node pubsub.mjs <port> [<publisher port>]');

// A queue of received values: next() resolves with the oldest one, waiting for it if needed.
function inbox() {
  const items = [];
  const waiters = [];
  return {
    push(item) {
      const waiter = waiters.shift();
      if (waiter) waiter(item); else items.push(item);
    },
    next() {
      return items.length > 0 ? Promise.resolve(items.shift()) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

test('ioredis: SUBSCRIBE and PSUBSCRIBE receive what another connection publishes', { timeout: 20000 }, async () => {
  const sub = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  const pub = new Redis({ host: '127.0.0.1', port: publisherPort, lazyConnect: true, maxRetriesPerRequest: 1 });
  await sub.connect();
  await pub.connect();
  try {
    const received = inbox();
    sub.on('message', (channel, message) => received.push(['message', channel, message]));
    sub.on('pmessage', (pattern, channel, message) => received.push(['pmessage', pattern, channel, message]));
    assert.equal(await sub.subscribe('io:news', 'io:sport'), 2);
    assert.equal(await sub.psubscribe('io:n*'), 3);

    assert.equal(await pub.publish('io:news', 'héllo'), 2);
    const first = [await received.next(), await received.next()];
    assert.deepEqual(first.sort(), [['message', 'io:news', 'héllo'], ['pmessage', 'io:n*', 'io:news', 'héllo']].sort());

    for (let i = 0; i < 200; i++) assert.equal(await pub.publish('io:sport', `${i}`), 1);
    for (let i = 0; i < 200; i++) assert.deepEqual(await received.next(), ['message', 'io:sport', `${i}`]);

    assert.equal(await sub.unsubscribe('io:news'), 2);
    assert.equal(await pub.publish('io:news', 'pattern only'), 1);
    assert.deepEqual(await received.next(), ['pmessage', 'io:n*', 'io:news', 'pattern only']);
    assert.equal(await sub.punsubscribe('io:n*'), 1);
    assert.equal(await pub.publish('io:news', 'nobody'), 0);
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

test('node-redis RESP2: a duplicated client subscribes, the other publishes', { timeout: 20000 }, async () => {
  const client = createClient({ socket: { host: '127.0.0.1', port: publisherPort, reconnectStrategy: false } });
  const subscriber = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', () => {});
  subscriber.on('error', () => {});
  await client.connect();
  await subscriber.connect();
  try {
    const received = inbox();
    await subscriber.subscribe('nr2:chat', (message, channel) => received.push([channel, message]));
    await subscriber.pSubscribe('nr2:ch*', (message, channel) => received.push(['pattern', channel, message]));

    assert.equal(await client.publish('nr2:chat', 'hi'), 2);
    const got = [await received.next(), await received.next()];
    assert.deepEqual(got.sort(), [['nr2:chat', 'hi'], ['pattern', 'nr2:chat', 'hi']].sort());

    await subscriber.unsubscribe('nr2:chat');
    await subscriber.pUnsubscribe('nr2:ch*');
    assert.equal(await client.publish('nr2:chat', 'gone'), 0);
  } finally {
    client.destroy();
    subscriber.destroy();
  }
});

test('node-redis RESP3: one client subscribes and keeps running commands on the same connection', { timeout: 20000 }, async () => {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, RESP: 3 });
  const publisher = createClient({ socket: { host: '127.0.0.1', port: publisherPort, reconnectStrategy: false }, RESP: 3 });
  client.on('error', () => {});
  publisher.on('error', () => {});
  await client.connect();
  await publisher.connect();
  try {
    const received = inbox();
    await client.subscribe('nr3:news', (message, channel) => received.push([channel, message]));
    await client.pSubscribe('nr3:*', (message, channel) => received.push(['pattern', channel, message]));
    await client.sSubscribe('nr3:orders', (message, channel) => received.push(['shard', channel, message]));

    assert.equal(await client.set('nr3:k', 'v'), 'OK');
    assert.equal(await client.get('nr3:k'), 'v');
    assert.equal(await publisher.publish('nr3:news', 'one'), 2);
    const got = [await received.next(), await received.next()];
    assert.deepEqual(got.sort(), [['nr3:news', 'one'], ['pattern', 'nr3:news', 'one']].sort());
    assert.equal(await publisher.sPublish('nr3:orders', 'order'), 1);
    assert.deepEqual(await received.next(), ['shard', 'nr3:orders', 'order']);
    assert.equal(await client.del('nr3:k'), 1);

    await client.unsubscribe('nr3:news');
    await client.pUnsubscribe('nr3:*');
    await client.sUnsubscribe('nr3:orders');
    assert.equal(await publisher.publish('nr3:news', 'gone'), 0);
    assert.equal(await client.get('nr3:k'), null);
  } finally {
    client.destroy();
    publisher.destroy();
  }
});
