'use strict';

// --name value pairs; names listed in `many` may repeat and are returned as arrays.
function args(argv, required, many = []) {
  const out = {};
  for (const m of many) out[m] = [];
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument '${argv[i]}'`);
    const name = argv[i].slice(2);
    if (many.includes(name)) out[name].push(argv[i + 1]);
    else out[name] = argv[i + 1];
  }
  for (const r of required) {
    if (out[r] === undefined || (Array.isArray(out[r]) && out[r].length === 0)) throw new Error(`--${r} is required`);
  }
  return out;
}

// KafkaJS logs to stderr; librdkafka's mock answers LeaveGroup v3 in a shape KafkaJS cannot parse when a
// consumer leaves (the consumer has finished by then): that one error is dropped, every other one is kept.
function silentMockNoise() {
  return ({ namespace, level, log }) => {
    if (log.message && log.message.includes('Response LeaveGroup')) return;
    process.stderr.write(`kafkajs ${namespace} [${level}]: ${log.message} ${log.error || ''}\n`);
  };
}

module.exports = { args, silentMockNoise };
