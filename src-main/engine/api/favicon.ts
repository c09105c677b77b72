let cached: Buffer | null = null

/**
 * Lathe's mark as a 32x32 ICO (one 32-bit BMP image): an accent-blue disc with a
 * half moon, drawn here so the engine serves `/favicon.ico` without a binary asset.
 */
export function faviconIco(): Buffer {
  if (cached) return cached
  const size = 32
  const pixels = Buffer.alloc(size * size * 4)
  const c = (size - 1) / 2
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c)
      if (d > 15) continue
      // BMP rows run bottom-up; pixels are BGRA.
      const offset = ((size - 1 - y) * size + x) * 4
      const light = d > 11 || x < c
      pixels.set(light ? [0xde, 0x6f, 0x2f, 0xff] : [0xff, 0xff, 0xff, 0xff], offset)
    }
  }
  const mask = Buffer.alloc((size * size) / 8)
  const header = Buffer.alloc(40)
  header.writeUInt32LE(40, 0)
  header.writeInt32LE(size, 4)
  header.writeInt32LE(size * 2, 8)
  header.writeUInt16LE(1, 12)
  header.writeUInt16LE(32, 14)
  header.writeUInt32LE(pixels.length + mask.length, 20)
  const image = Buffer.concat([header, pixels, mask])
  const dir = Buffer.alloc(6 + 16)
  dir.writeUInt16LE(1, 2)
  dir.writeUInt16LE(1, 4)
  dir.writeUInt8(size, 6)
  dir.writeUInt8(size, 7)
  dir.writeUInt16LE(1, 10)
  dir.writeUInt16LE(32, 12)
  dir.writeUInt32LE(image.length, 14)
  dir.writeUInt32LE(dir.length, 18)
  cached = Buffer.concat([dir, image])
  return cached
}
