/**
 * A proxy in its own process, for the crash (kill -9) and clean-signal
 * tests: argv = evidence dir, upstream port, profile, [--resume].
 * Prints {"port":N} once it listens; SIGTERM closes it cleanly.
 */
import { EvidenceWriter } from '../../../src/proxy/evidence.js';
import { ProxyServer } from '../../../src/proxy/server.js';
import { proxySigner, testDecider, TEST_POLICY_HASH } from '../support.js';

const [dir, upstreamPort, profile, flag] = process.argv.slice(2);
try {
  const evidence = await EvidenceWriter.open({
    dir: dir!,
    signer: proxySigner,
    policyHash: TEST_POLICY_HASH,
    profile: profile === 'legacy' ? 'legacy' : 'session',
    resume: flag === '--resume',
    checkpointInterval: 5,
    maxEntriesPerFile: 7,
  });
  const server = new ProxyServer({ decider: testDecider({ httpDial: () => `127.0.0.1:${upstreamPort}` }), evidence, port: 0, drainMs: 500 });
  const addr = await server.listen();
  process.stdout.write(JSON.stringify({ port: addr.port }) + '\n');
  process.on('SIGTERM', () => {
    void server.close().then(() => {
      evidence.close('signal');
      process.exit(0);
    });
  });
} catch (e) {
  process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
  process.exit(3);
}
