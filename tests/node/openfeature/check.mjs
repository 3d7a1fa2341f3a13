// The Node OpenFeature clients against warroom, for tests/test_ofrep_node.py:
//   node check.mjs session <baseUrl> <token> <flag>
//     the server SDK with the OFREP provider, one client kept open: each stdin line
//     `<segment> <count>` is answered by one stdout line, one character per key user-0 …
//     user-<count-1>, 1 (on) or 0 (off). One start-up for every step of a test, and one
//     provider instance throughout, so a change is seen only if the provider does not cache
//   node check.mjs bulk <baseUrl> <token> <targetingKey> <segment> [etag]
//     OFREP's bulk evaluation (ofrep-core's API client) with If-None-Match: status, etag, flags
//   node check.mjs validate <file>
//     flagd's own schema validation (flagd-core, strict): exits 1 with the errors
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPApi } from '@openfeature/ofrep-core';
import { MemoryStorage } from '@openfeature/flagd-core';

const [mode, ...args] = process.argv.slice(2);

async function openClient(baseUrl, token) {
  const provider = new OFREPProvider({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  await OpenFeature.setProviderAndWait(provider);
  return OpenFeature.getClient();
}

async function session(baseUrl, token, flag) {
  const client = await openClient(baseUrl, token);
  for await (const line of createInterface({ input: process.stdin })) {
    const [segment, count] = line.trim().split(/\s+/);
    process.stdout.write(`${await bitsFor(client, flag, segment, count)}\n`);
  }
  await OpenFeature.close();
}

async function bitsFor(client, flag, segment, count) {
  const bits = new Array(Number(count));
  const batch = 64;
  for (let start = 0; start < bits.length; start += batch) {
    const end = Math.min(start + batch, bits.length);
    const jobs = [];
    for (let i = start; i < end; i++) {
      jobs.push(
        client
          .getBooleanDetails(flag, false, { targetingKey: `user-${i}`, segment })
          .then((d) => {
            if (d.errorCode) throw new Error(`${d.errorCode}: ${d.errorMessage}`);
            bits[i] = d.value ? '1' : '0';
          }),
      );
    }
    await Promise.all(jobs);
  }
  return bits.join('');
}

async function bulk(baseUrl, token, targetingKey, segment, etag) {
  const api = new OFREPApi(baseUrl);
  const headers = { Authorization: `Bearer ${token}` };
  if (etag) headers['If-None-Match'] = etag;
  const result = await api.postBulkEvaluateFlags({ context: { targetingKey, segment } }, { headers });
  process.stdout.write(
    JSON.stringify({
      status: result.httpStatus,
      etag: result.httpResponse.headers.get('etag'),
      flags: result.value ? result.value.flags : null,
    }),
  );
}

function validate(file) {
  const storage = new MemoryStorage(console);
  storage.setConfigurations(readFileSync(file, 'utf8'), true); // throws on a schema error
  process.stdout.write(JSON.stringify({ valid: true }));
}

if (mode === 'session') await session(...args);
else if (mode === 'bulk') await bulk(...args);
else if (mode === 'validate') validate(...args);
else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
