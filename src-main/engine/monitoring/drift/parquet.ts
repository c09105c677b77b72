/**
 * Numeric columns read straight from a Parquet file, for the one-pass report's counting
 * threads. Streaming them through DuckDB's result costs about 10 core-ns a value (its
 * fetch, one Node-API call and buffer per vector of 2048), two and a half times what
 * DuckDB's own scan costs; the report reads every value four times (each side for its
 * grid, then for its crossing cells), so that path was a third of a 10M x 110 report.
 * Here a thread reads each column chunk's bytes with one read, and a PLAIN page's values
 * are a byte copy (a Snappy literal is one too), about 2 ns a value; other number types
 * are widened to doubles on the way, as DuckDB's cast would.
 *
 * Only what is common and simple is read here; `planParquet` (parquetPlan.ts) says which columns qualify
 * and DuckDB reads the rest: flat OPTIONAL columns (what DuckDB, pandas and pyarrow
 * write) of DOUBLE, FLOAT and plain integers (TINYINT to BIGINT), uncompressed or in
 * Snappy that found little to compress (parquetPlan.ts's MOSTLY_LITERAL), PLAIN or dictionary-encoded pages
 * (v1 or v2). Not here: ZSTD and GZIP,
 * BYTE_STREAM_SPLIT and DELTA_BINARY_PACKED (DuckDB's v2 defaults for floats and
 * integers), DECIMAL, dates and times, unsigned integers, nested columns. Where the file is laid out is
 * taken from DuckDB's `parquet_metadata()`, so no footer is parsed here. The values come
 * out as DuckDB gives them to the report: in row order, the same bits, NaN for a null.
 * (JavaScript libraries read Parquet into arrays of boxed numbers, about 150 ns a value
 * measured with hyparquet, and their Snappy copies literals byte by byte.)
 *
 * `parquetDecoder` is self-contained (no imports, no outside names), as the kernels are:
 * its source also runs in the worker threads (workers.ts).
 */

/** One column chunk: where its pages lie in the file, how many values (nulls included) it holds. */
export interface ParquetChunk {
  offset: number
  length: number
  values: number
  codec: 'UNCOMPRESSED' | 'SNAPPY'
  /** The stored type: each value becomes the double DuckDB's TRY_CAST(... AS DOUBLE) gives. */
  physical: 'DOUBLE' | 'FLOAT' | 'INT32' | 'INT64'
}

export interface ParquetColumn {
  name: string
  /** In row-group order. */
  chunks: ParquetChunk[]
}

/** A file's asked columns in the order asked: each its chunks, or null where DuckDB reads it. */
export interface ParquetPlan {
  file: string
  columns: Array<ParquetColumn | null>
}

export interface ParquetDecoder {
  /** Decodes one column chunk's bytes (its pages, headers included) into `out` from `at`: `chunk.values` doubles, NaN for nulls. */
  decodeChunk(bytes: Uint8Array, chunk: ParquetChunk, out: Float64Array, at: number): void
}

export function parquetDecoder(): ParquetDecoder {
  // Parquet's enums (parquet.thrift).
  const DATA_PAGE = 0
  const DICTIONARY_PAGE = 2
  const DATA_PAGE_V2 = 3
  const PLAIN = 0
  const PLAIN_DICTIONARY = 2
  const RLE = 3
  const RLE_DICTIONARY = 8

  const fail = (what: string): never => {
    throw new Error(`parquet: ${what}`)
  }

  /** A cursor over bytes: Thrift's compact protocol (varints, zigzag, nested structs), as much of it as page headers use. */
  interface Cursor {
    bytes: Uint8Array
    at: number
  }
  function varint(c: Cursor): number {
    let result = 0
    let shift = 0
    for (;;) {
      const b = c.bytes[c.at++]!
      if (b === undefined) fail('a page header runs past its chunk')
      result += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return result
      shift += 7
      if (shift > 63) fail('a malformed varint in a page header')
    }
  }
  const zigzag = (n: number) => (n % 2 === 0 ? n / 2 : -(n + 1) / 2)

  /** A struct's fields by id: integers as numbers, booleans, nested structs as objects; lists, maps and binaries skipped. */
  function struct(c: Cursor, depth: number): Map<number, unknown> {
    if (depth > 8) fail('page header nested too deeply')
    const fields = new Map<number, unknown>()
    let id = 0
    for (;;) {
      const head = c.bytes[c.at++]
      if (head === undefined) fail('a page header runs past its chunk')
      if (head === 0) return fields
      const type = head! & 0x0f
      const delta = head! >> 4
      id = delta === 0 ? zigzag(varint(c)) : id + delta
      fields.set(id, value(c, type, depth))
    }
  }
  function value(c: Cursor, type: number, depth: number): unknown {
    switch (type) {
      case 1:
        return true
      case 2:
        return false
      case 3:
        return c.bytes[c.at++]
      case 4:
      case 5:
      case 6:
        return zigzag(varint(c))
      case 7:
        c.at += 8
        return null
      case 8: {
        c.at += varint(c)
        return null
      }
      case 9:
      case 10: {
        const head = c.bytes[c.at++]!
        const size = head >> 4 === 15 ? varint(c) : head >> 4
        // A list's booleans take a byte each; a struct field's none.
        if ((head & 0x0f) === 1 || (head & 0x0f) === 2) c.at += size
        else for (let i = 0; i < size; i++) value(c, head & 0x0f, depth + 1)
        return null
      }
      case 11: {
        const size = varint(c)
        if (size > 0) {
          const types = c.bytes[c.at++]!
          for (let i = 0; i < size; i++) {
            value(c, types >> 4, depth + 1)
            value(c, types & 0x0f, depth + 1)
          }
        }
        return null
      }
      case 12:
        return struct(c, depth + 1)
      default:
        return fail(`an unknown Thrift type ${type} in a page header`)
    }
  }
  const int = (fields: Map<number, unknown> | null | undefined, id: number, what: string): number => {
    const v = fields?.get(id)
    return typeof v === 'number' ? v : fail(`a page header without its ${what}`)
  }

  /** Below this many bytes, a copy is a loop rather than a call. */
  const SHORT = 64

  /** Snappy's raw format into `out` (exactly its length): literals are byte copies, back references copied forward. */
  function snappy(input: Uint8Array, out: Uint8Array): void {
    const c: Cursor = { bytes: input, at: 0 }
    if (varint(c) !== out.length) fail('a Snappy block of another length than its page header says')
    let pos = c.at
    let o = 0
    while (pos < input.length) {
      const tag = input[pos++]!
      if ((tag & 3) === 0) {
        let len = (tag >> 2) + 1
        if (len > 60) {
          const extra = len - 60
          len = 0
          for (let i = 0; i < extra; i++) len += input[pos + i]! * 2 ** (8 * i)
          len += 1
          pos += extra
        }
        if (pos + len > input.length || o + len > out.length) fail('a Snappy literal past the end of its block')
        // Short ones byte by byte: a subarray and a call each cost more than the copy.
        if (len < SHORT) for (let i = 0; i < len; i++) out[o + i] = input[pos + i]!
        else out.set(input.subarray(pos, pos + len), o)
        pos += len
        o += len
        continue
      }
      let len: number
      let offset: number
      if ((tag & 3) === 1) {
        len = ((tag >> 2) & 7) + 4
        offset = ((tag >> 5) << 8) | input[pos++]!
      } else if ((tag & 3) === 2) {
        len = (tag >> 2) + 1
        offset = input[pos]! | (input[pos + 1]! << 8)
        pos += 2
      } else {
        len = (tag >> 2) + 1
        offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16)) + input[pos + 3]! * 2 ** 24
        pos += 4
      }
      if (offset === 0 || offset > o || o + len > out.length) fail('a Snappy back reference outside its block')
      if (offset >= len && len >= SHORT) out.copyWithin(o, o - offset, o - offset + len)
      else for (let i = 0; i < len; i++) out[o + i] = out[o + i - offset]!
      o += len
    }
    if (o !== out.length) fail('a Snappy block shorter than its page header says')
  }

  /**
   * The RLE / bit-packed hybrid (definition levels, dictionary indices): `count` values of
   * `width` bits into `out`, from c.at up to `end`; the cursor ends after the last run read.
   */
  function hybrid(c: Cursor, end: number, width: number, out: Int32Array, count: number): void {
    const bytes = c.bytes
    const valueBytes = (width + 7) >> 3
    const mask = width === 32 ? -1 : (1 << width) - 1
    let n = 0
    while (n < count) {
      if (c.at >= end) fail('levels or indices shorter than the page says')
      const head = varint(c)
      if ((head & 1) === 0) {
        const run = Math.min(head >>> 1, count - n)
        let v = 0
        for (let i = 0; i < valueBytes; i++) v |= bytes[c.at + i]! << (8 * i)
        c.at += valueBytes
        out.fill(v, n, n + run)
        n += run
      } else {
        const values = (head >>> 1) * 8
        if (c.at + (values * width) / 8 > end) fail('a bit-packed run past the end of its levels or indices')
        const take = Math.min(values, count - n)
        let at = c.at
        if (width <= 24) {
          // In 32-bit integers: fewer than `width` bits held, plus a byte, stays under 32.
          let bits = 0
          let held = 0
          for (let i = 0; i < take; i++) {
            while (held < width) {
              bits |= bytes[at++]! << held
              held += 8
            }
            out[n++] = bits & mask
            bits >>>= width
            held -= width
          }
        } else {
          let bits = 0
          let held = 0
          for (let i = 0; i < take; i++) {
            while (held < width) {
              bits += bytes[at++]! * 2 ** held
              held += 8
            }
            out[n++] = (bits % 2 ** width) & mask
            bits = Math.floor(bits / 2 ** width)
            held -= width
          }
        }
        c.at += (values * width) >> 3
      }
    }
  }

  /**
   * PLAIN values of each stored type into doubles, as DuckDB casts them: `count` rows from
   * `out[at]`, the values taken in turn for the rows `defined` marks (all when null), NaN
   * for the others. INT64 as high x 2^32 + low: both exact, and their sum rounded once,
   * as a cast of the whole integer rounds it.
   */
  type Widen = (view: DataView, count: number, defined: Int32Array | null, out: Float64Array, at: number) => void
  const widening: Record<ParquetChunk['physical'], Widen> = {
    DOUBLE(view, count, defined, out, at) {
      let k = 0
      for (let i = 0; i < count; i++) out[at + i] = !defined || defined[i] ? view.getFloat64(8 * k++, true) : Number.NaN
    },
    FLOAT(view, count, defined, out, at) {
      let k = 0
      for (let i = 0; i < count; i++) out[at + i] = !defined || defined[i] ? view.getFloat32(4 * k++, true) : Number.NaN
    },
    INT32(view, count, defined, out, at) {
      let k = 0
      for (let i = 0; i < count; i++) out[at + i] = !defined || defined[i] ? view.getInt32(4 * k++, true) : Number.NaN
    },
    INT64(view, count, defined, out, at) {
      let k = 0
      for (let i = 0; i < count; i++) {
        if (defined && !defined[i]) out[at + i] = Number.NaN
        else {
          out[at + i] = view.getInt32(8 * k + 4, true) * 4294967296 + view.getUint32(8 * k, true)
          k++
        }
      }
    },
  }

  let levels: Int32Array<ArrayBuffer> = new Int32Array(0)
  let indices: Int32Array<ArrayBuffer> = new Int32Array(0)
  let scratch = new Uint8Array(0)
  const grow = (a: Int32Array<ArrayBuffer>, n: number) => (a.length >= n ? a : new Int32Array(Math.max(n, a.length * 2)))

  return {
    decodeChunk(bytes, chunk, out, at) {
      const c: Cursor = { bytes, at: 0 }
      const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
      let dictionary: Float64Array | null = null
      const width = chunk.physical === 'DOUBLE' || chunk.physical === 'INT64' ? 8 : 4
      const widen = widening[chunk.physical]
      let done = 0
      while (done < chunk.values) {
        if (c.at >= bytes.length) fail(`a column chunk with ${done} of its ${chunk.values} values`)
        const header = struct(c, 0)
        const type = int(header, 1, 'type')
        const size = int(header, 2, 'uncompressed size')
        const stored = int(header, 3, 'compressed size')
        const start = c.at
        if (size < 0 || stored < 0) fail('a page header with a negative size')
        if (start + stored > bytes.length) fail('a page past the end of its column chunk')
        c.at = start + stored
        if (type !== DATA_PAGE && type !== DATA_PAGE_V2 && type !== DICTIONARY_PAGE) continue
        const v2 = type === DATA_PAGE_V2 ? (header.get(8) as Map<number, unknown>) : null
        const v1 = type === DATA_PAGE ? (header.get(5) as Map<number, unknown>) : null
        // The page's bytes as written: v2 keeps its levels uncompressed ahead of the (maybe compressed) values; a flat column has no repetition levels.
        if (v2 && int(v2, 6, 'repetition levels length') !== 0) fail('repeated values')
        const levelBytes = v2 ? int(v2, 5, 'definition levels length') : 0
        const compressed = chunk.codec === 'SNAPPY' && (v2 ? v2.get(7) !== false : true)
        let page: Uint8Array
        if (compressed) {
          if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2))
          page = scratch.subarray(0, size)
          page.set(bytes.subarray(start, start + levelBytes))
          snappy(bytes.subarray(start + levelBytes, start + stored), page.subarray(levelBytes))
        } else {
          if (stored !== size) fail('an uncompressed page whose sizes differ')
          page = bytes.subarray(start, start + stored)
        }
        if (type === DICTIONARY_PAGE) {
          const entries = int(header.get(7) as Map<number, unknown>, 1, 'dictionary size')
          const encoding = int(header.get(7) as Map<number, unknown>, 2, 'dictionary encoding')
          if (encoding !== PLAIN && encoding !== PLAIN_DICTIONARY) fail(`a dictionary page in encoding ${encoding}`)
          if (entries * width > page.length) fail('a dictionary page shorter than its entries')
          dictionary = new Float64Array(entries)
          widen(new DataView(page.buffer, page.byteOffset, entries * width), entries, null, dictionary, 0)
          continue
        }
        const fields = (v2 ?? v1)!
        const count = int(fields, 1, 'value count')
        const encoding = int(fields, v2 ? 4 : 2, 'encoding')
        if (count < 0 || done + count > chunk.values) fail('pages with more values than their column chunk')
        const p: Cursor = { bytes: page, at: 0 }
        // Definition levels (an OPTIONAL column's: max level 1): which of the page's values are there.
        let present = count
        let defined: Int32Array | null = null
        {
          let end: number
          if (v2) end = levelBytes
          else {
            if (int(v1, 3, 'definition level encoding') !== RLE) fail('definition levels not RLE-encoded')
            const length = page[0]! | (page[1]! << 8) | (page[2]! << 16) | (page[3]! << 24)
            p.at = 4
            end = 4 + length
          }
          // The common case, no nulls: one RLE run of 1s over the page.
          const first: Cursor = { bytes: page, at: p.at }
          const head = varint(first)
          if (!((head & 1) === 0 && head >>> 1 >= count && page[first.at] === 1)) {
            levels = grow(levels, count)
            hybrid(p, end, 1, levels, count)
            present = 0
            for (let i = 0; i < count; i++) present += levels[i]!
            if (present < count) defined = levels
          }
          p.at = end
        }
        const target = at + done
        if (encoding === PLAIN) {
          if (p.at + present * width > page.length) fail('a page with fewer values than it says')
          if (!defined && chunk.physical === 'DOUBLE') outBytes.set(page.subarray(p.at, p.at + present * 8), target * 8)
          else widen(new DataView(page.buffer, page.byteOffset + p.at, present * width), count, defined, out, target)
        } else if (encoding === PLAIN_DICTIONARY || encoding === RLE_DICTIONARY) {
          if (!dictionary) fail('dictionary-encoded values without a dictionary page')
          const bits = page[p.at++]!
          if (bits > 32) fail(`dictionary indices ${bits} bits wide`)
          indices = grow(indices, present)
          hybrid(p, page.length, bits, indices, present)
          let k = 0
          for (let i = 0; i < count; i++) {
            if (defined && !defined[i]) out[target + i] = Number.NaN
            else {
              const index = indices[k++]!
              if (index < 0 || index >= dictionary!.length) fail('a dictionary index past its dictionary')
              out[target + i] = dictionary![index]!
            }
          }
        } else fail(`values in encoding ${encoding}`)
        done += count
      }
    },
  }
}
