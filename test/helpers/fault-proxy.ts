import net from 'node:net'
import { afterThisTest } from './workspace.js'

export interface FaultPlan {
  /** Send this request a second time to the server on another connection (the client sees one answer). */
  duplicate?: (requestLine: string, index: number) => boolean
  /** Let the server answer, then cut the client's connection before the answer reaches it. */
  dropResponse?: (requestLine: string, index: number) => boolean
  /** Cut the client's connection after this many bytes of the request body have gone through. */
  cutRequestAfter?: (requestLine: string, index: number) => number | null
}

export interface FaultProxy {
  url: string
  stats: { requests: number; duplicated: number; dropped: number; cut: number }
}

/**
 * A TCP proxy between client and team server that understands just enough HTTP/1.1
 * (request line, Content-Length) to fault one request at a time: deliver it twice, drop
 * the response after the server has answered (so it has committed), or cut it mid-body.
 * Listens on 127.0.0.1; closed after the test.
 */
export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const { hostname, port } = new URL(target)
  const stats = { requests: 0, duplicated: 0, dropped: 0, cut: 0 }
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    return s
  }
  const server = net.createServer((client) => {
    track(client)
    const upstream = track(net.connect(Number(port), hostname))
    let pending = Buffer.alloc(0)
    let dropNextResponse = false
    let decided: { index: number; cutAt: number | null } | null = null
    upstream.on('data', (chunk) => {
      if (dropNextResponse) {
        // The server has begun answering: it has done the work. The client never hears.
        stats.dropped += 1
        client.destroy()
        upstream.destroy()
        return
      }
      client.write(chunk)
    })
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk])
      for (;;) {
        const end = pending.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = pending.subarray(0, end).toString('latin1')
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
        const requestLine = head.split('\r\n')[0]!
        const index = stats.requests
        // Asked once per request, however many packets its body takes.
        if (decided?.index !== index) decided = { index, cutAt: plan.cutRequestAfter?.(requestLine, index) ?? null }
        const cutAt = decided.cutAt
        if (cutAt !== null && pending.length >= end + 4 + cutAt) {
          stats.requests += 1
          stats.cut += 1
          upstream.write(pending.subarray(0, end + 4 + cutAt))
          // Give the bytes a moment to reach the server, then cut both ways.
          setTimeout(() => {
            upstream.destroy()
            client.destroy()
          }, 50)
          pending = Buffer.alloc(0)
          return
        }
        if (pending.length < end + 4 + length) return
        const request = pending.subarray(0, end + 4 + length)
        pending = pending.subarray(end + 4 + length)
        stats.requests += 1
        if (plan.duplicate?.(requestLine, index)) {
          stats.duplicated += 1
          const twin = track(net.connect(Number(port), hostname))
          twin.on('data', () => {})
          twin.write(request)
          setTimeout(() => twin.destroy(), 5000).unref()
        }
        if (plan.dropResponse?.(requestLine, index)) dropNextResponse = true
        upstream.write(request)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  afterThisTest(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  const address = server.address() as net.AddressInfo
  return { url: `http://127.0.0.1:${address.port}`, stats }
}
