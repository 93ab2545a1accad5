// Produces "key<TAB>value" lines (one record each; an empty key is a null key) to one topic with KafkaJS,
// whose default partitioner is the Java client's murmur2. Exit 0 once every record is acknowledged (acks=all).
// Usage: node produce.js --brokers B --topic T --file F
'use strict';
const fs = require('fs');
const { Kafka, Partitioners, logLevel } = require('kafkajs');
const { args, silentMockNoise } = require('./common');

(async () => {
  const a = args(process.argv.slice(2), ['brokers', 'topic', 'file']);
  const lines = fs.readFileSync(a.file, 'utf8').split('\n').filter((l) => l.length > 0);
  const kafka = new Kafka({ clientId: 'streamguard-interop-kafkajs', brokers: a.brokers.split(','), logLevel: logLevel.ERROR, logCreator: silentMockNoise });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let sent = 0;
  for (let i = 0; i < lines.length; i += 100) {
    const messages = lines.slice(i, i + 100).map((line) => {
      const tab = line.indexOf('\t');
      if (tab < 0) throw new Error(`line ${i + 1}: no tab between key and value`);
      const key = line.slice(0, tab);
      return { key: key.length === 0 ? null : key, value: line.slice(tab + 1) };
    });
    await producer.send({ topic: a.topic, acks: -1, messages });
    sent += messages.length;
  }
  await producer.disconnect();
  process.stderr.write(`kafkajs: ${sent} records to ${a.topic}\n`);
})().catch((e) => { process.stderr.write(`kafkajs produce failed: ${e.stack || e}\n`); process.exit(1); });
