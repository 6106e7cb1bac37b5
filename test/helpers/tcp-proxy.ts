/**
 * A TCP proxy in front of a real service (PostgreSQL, Redis), so a test can
 * cut the connection and restore it without stopping the shared service, or
 * black-hole it: connections stay open but nothing gets through, like a host
 * that froze or a network that silently drops packets.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drop every connection and refuse new ones. */
  cut(): void;
  /**
   * Stop forwarding in both directions without closing anything: open
   * connections stay open but go silent (even a FIN is not passed on), new
   * ones are accepted and then ignored.
   */
  blackhole(): void;
  /** Accept and forward again (after cut or blackhole); black-holed connections resume. */
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs = new Set<Pair>();
  let mode: 'open' | 'cut' | 'blackhole' = 'open';

  const track = (pair: Pair, socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      pairs.delete(pair);
    });
    socket.on('error', () => {
      pair.client.destroy();
      pair.upstream?.destroy();
    });
  };

  const forward = (pair: Pair): void => {
    if (!pair.upstream) {
      pair.upstream = createConnection(targetPort, targetHost);
      track(pair, pair.upstream);
    }
    pair.client.pipe(pair.upstream).pipe(pair.client);
    pair.client.resume();
    pair.upstream.resume();
  };

  const silence = (pair: Pair): void => {
    // Paused sockets read nothing, so neither data nor an end-of-stream reaches the other side.
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.client.pause();
    pair.upstream?.pause();
  };

  const server = createServer((client) => {
    if (mode === 'cut') return void client.destroy();
    const pair: Pair = { client, upstream: undefined };
    pairs.add(pair);
    track(pair, client);
    if (mode === 'open') forward(pair);
    else client.pause();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      mode = 'cut';
      for (const s of sockets) s.destroy();
    },
    blackhole() {
      mode = 'blackhole';
      for (const pair of pairs) silence(pair);
    },
    restore() {
      const wasBlackholed = mode === 'blackhole';
      mode = 'open';
      if (wasBlackholed) for (const pair of pairs) forward(pair);
    },
    async close() {
      mode = 'cut';
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
