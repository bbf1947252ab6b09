import { createServer, connect } from "node:net";

/**
 * Ports this process handed out. The kernel may offer a port again as soon as the probe below
 * released it, to another caller in this process that has not bound its own yet: two control
 * planes started side by side once got the same one.
 */
const handedOut = new Set<number>();

/** Asks the kernel for a currently free TCP port on the given loopback address, one not handed out here before. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await unusedPort(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on ${host} that this process had not handed out already`);
}

function unusedPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not determine a free port"));
      });
    });
  });
}

/**
 * True when something accepts connections on host:port within `timeoutMs`; a host whose
 * packets are dropped counts as not listening once the time is up, not after the kernel's retries.
 */
export async function isListening(host: string, port: number, timeoutMs = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (listening: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(listening);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
