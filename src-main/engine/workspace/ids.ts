import { randomBytes } from 'node:crypto'

/**
 * Global ids for every record that syncs: UUID version 7 (RFC 9562), 48 bits of Unix
 * milliseconds then 74 random bits, so ids sort by creation time across machines and
 * two workspaces never mint the same one (no coordination, unlike `MAX+1`).
 *
 * Written over node:crypto rather than the `uuid` package: the layout is a few lines,
 * and node:crypto's CSPRNG is what `uuid` calls anyway; no dependency (and no lock-file
 * change beside the team server's). Within one millisecond the 12-bit `rand_a` field
 * counts up (RFC 9562 section 6.2, method 1), so ids minted here in a burst still sort
 * in the order they were made.
 */

let lastMs = -1
let counter = 0

export function uuidv7(ms: number = Date.now()): string {
  const bytes = randomBytes(16)
  if (ms === lastMs && counter < 0xfff) {
    counter += 1
  } else {
    // A fresh millisecond (or a clock that went back, or a spent counter): start the
    // counter at a random point in its lower half so it has room to count.
    lastMs = ms
    counter = bytes.readUInt16BE(6) & 0x7ff
  }
  bytes.writeUIntBE(ms, 0, 6)
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Any RFC 9562 UUID (v4 ids from before sync are as global as v7 ones). */
export function isUuid(id: string): boolean {
  return uuidShape.test(id)
}

/** The creation time a v7 id carries (ms since the epoch), or null for other ids. */
export function uuidv7Time(id: string): number | null {
  if (!isUuid(id) || id[14] !== '7') return null
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}
