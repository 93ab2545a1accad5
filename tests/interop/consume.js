// Consumes topics from the beginning with a KafkaJS consumer group and prints one JSON line per record:
// {"topic","partition","offset","key","value"} (key and value as UTF-8 strings, null when null).
// Stops once every topic has its expected count, after a short settle to catch any record beyond it
// (a duplicate or an uncommitted record shows up as an extra); exit 0, or 2 on timeout.
// Usage: node consume.js --brokers B --group G --isolation read_committed|read_uncommitted
//                        --expect TOPIC=COUNT [--expect …] [--timeout-ms N] [--settle-ms N]
'use strict';
const { Kafka, logLevel } = require('kafkajs');
const { args, silentMockNoise } = require('./common');

(async () => {
  const a = args(process.argv.slice(2), ['brokers', 'group', 'isolation', 'expect'], ['expect']);
  if (!['read_committed', 'read_uncommitted'].includes(a.isolation)) throw new Error(`--isolation ${a.isolation}?`);
  const expected = new Map(a.expect.map((e) => {
    const at = e.lastIndexOf('=');
    return [e.slice(0, at), Number(e.slice(at + 1))];
  }));
  const timeoutMs = Number(a['timeout-ms'] || 60000);
  const settleMs = Number(a['settle-ms'] || 1000);
  const kafka = new Kafka({ clientId: 'streamguard-interop-kafkajs', brokers: a.brokers.split(','), logLevel: logLevel.ERROR, logCreator: silentMockNoise });
  const consumer = kafka.consumer({ groupId: a.group, readUncommitted: a.isolation === 'read_uncommitted', sessionTimeout: 10000, rebalanceTimeout: 10000, heartbeatInterval: 1000 });
  const counts = new Map([...expected.keys()].map((t) => [t, 0]));
  const done = () => [...expected].every(([t, n]) => counts.get(t) >= n);
  await consumer.connect();
  await consumer.subscribe({ topics: [...expected.keys()], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      counts.set(topic, counts.get(topic) + 1);
      process.stdout.write(JSON.stringify({
        topic, partition, offset: Number(message.offset),
        key: message.key === null ? null : message.key.toString('utf8'),
        value: message.value === null ? null : message.value.toString('utf8'),
      }) + '\n');
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const reached = done();
  if (reached) await new Promise((r) => setTimeout(r, settleMs));
  await consumer.disconnect().catch(() => {});
  process.stderr.write(`kafkajs (${a.isolation}): ${[...counts].map(([t, n]) => `${t}=${n}/${expected.get(t)}`).join(' ')}\n`);
  process.exit(reached ? 0 : 2);
})().catch((e) => { process.stderr.write(`kafkajs consume failed: ${e.stack || e}\n`); process.exit(1); });
