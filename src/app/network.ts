/** Which listen addresses only this machine can reach (the transports and the platform's defaults both ask). */

/** '127.0.0.1' (any 127.x.y.z), '::1' (bracketed or not) and 'localhost'. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}
