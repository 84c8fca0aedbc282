/** Raw HTTP for the servers' robustness tests: bytes no well-behaved client sends. */
import net from 'node:net';

/** Sends raw bytes and resolves to what comes back before the server closes (or 2 s pass). */
export function rawRequest(port: number, data: string | Buffer, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let got = '';
    const done = (): void => {
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (/\r\n\r\n/.test(got)) {
        clearTimeout(timer);
        done();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.write(data);
  });
}

/** Request lines, headers and upgrade requests no client should send, from a seeded generator. */
export function malformedRequests(n: number, seed: number): string[] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const pieces = ['//[', 'http://[', '//a:b@[::1', 'http://%', '%', '%zz', '/..', '/%2e%2e/', '\\', '[', ']', '@', ':', '?token=', '#', '/api', '//', '%00', '\u00ff', ' ', '\t', 'é', '/export/%', '/upload'];
  const methods = ['GET', 'POST', 'PUT', 'GE T', '', 'CONNECT', 'OPTIONS', 'HEAD', '\x00GET'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let target = '';
    for (let k = 0, len = 1 + Math.floor(next() * 5); k < len; k++) target += pick(pieces);
    const kind = i % 4;
    const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const badHeader = pick(['X: \u0000\r\n', 'Bad Header\r\n', ': nameless\r\n', 'Content-Length: -1\r\n', 'Content-Length: 1\r\nContent-Length: 2\r\n', 'Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', 'Origin: http://%\r\n', 'Host: [\r\n']);
    if (kind === 0) out.push(`${pick(methods)} ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    else if (kind === 1) out.push(`GET ${target} HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
    else if (kind === 2) out.push(`GET /${target} HTTP/1.1\r\n${badHeader}${upgrade}\r\n`);
    else out.push(`${pick(methods)} ${target} HTTP/${pick(['1.1', '9.9', 'x', ''])}\r\n${badHeader}\r\n`);
  }
  return out;
}

