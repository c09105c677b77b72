import { gcd, logBinomial, logGamma, roundHalfEven } from './special.js'

/**
 * The p-value of the two-sample Kolmogorov-Smirnov test, the way
 * `scipy.stats.ks_2samp(a, b)` computes it by default (`method='auto'`,
 * two-sided): exact lattice-path counting when both samples have at most 10,000
 * values, otherwise the distribution of the one-sample statistic D_n with
 * n = round(n1 n2 / (n1 + n2)), evaluated as Simard & L'Ecuyer (2011) recommend.
 * Only the statistic and the two sizes are needed, so the data never leaves DuckDB.
 */

const MAX_EXACT_N = 10_000
const INT32_MAX = 2 ** 31 - 1

export interface KsPValue {
  /** The statistic, snapped to a multiple of 1/lcm(n1, n2) when computed exactly. */
  statistic: number
  pValue: number
  method: 'exact' | 'asymptotic'
}

export function ksTwoSamplePValue(d: number, n1: number, n2: number): KsPValue {
  if (!(n1 > 0 && n2 > 0)) return { statistic: d, pValue: Number.NaN, method: 'exact' }
  const g = gcd(n1, n2)
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const exact = exactTwoSided(n1, n2, g, d)
    if (exact) return { ...exact, method: 'exact' }
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1]
  const en = (m * n) / (m + n)
  return { statistic: d, pValue: clip01(kolmogorovSf(roundHalfEven(en), d)), method: 'asymptotic' }
}

function exactTwoSided(n1: number, n2: number, g: number, d: number): { statistic: number; pValue: number } | null {
  const lcm = (n1 / g) * n2
  if (n1 / g >= INT32_MAX / (n2 / g)) return null
  const h = roundHalfEven(d * lcm)
  const snapped = h / lcm
  if (h === 0) return { statistic: snapped, pValue: 1 }
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h)
  if (!(p >= 0 && p <= 1)) return null
  return { statistic: snapped, pValue: p }
}

/**
 * Equal sizes: Pr(D_{n,n} >= h/n) from the reflection-principle series
 * 2 Σ (-1)^(k+1) C(2n, n - kh) / C(2n, n), nested so that no term cancels another.
 */
function probOutsideSquare(n: number, h: number): number {
  let p = 0
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1)
    p = ratio * (1 - p)
  }
  return 2 * p
}

/**
 * Unequal sizes: the share of monotone lattice paths from (0,0) to (m,n) that leave the
 * band |x/m - y/n| < h/lcm, counted column by column over the band only. The recursion
 * carries 1 - (share inside) directly (Viehmann 2021), which keeps small p-values exact.
 */
function probOutsideBand(n1: number, n2: number, g: number, h: number): number {
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1]
  const mg = m / g
  const ng = n / g
  let minj = 0
  let maxj = Math.min(Math.ceil(h / mg), n + 1)
  let curlen = maxj - minj
  const lenA = Math.min(2 * maxj + 2, n + 1)
  const column = new Float64Array(lenA).fill(1)
  column.fill(0, minj, maxj)
  for (let i = 1; i <= m; i++) {
    const lastminj = minj
    const lastlen = curlen
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n)
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1)
    if (maxj <= minj) return 1
    let value = minj === 0 ? 0 : 1
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj
      value = (column[jj + minj - lastminj]! * i + value * j) / (i + j)
      column[jj] = value
    }
    curlen = maxj - minj
    if (lastlen > curlen) column.fill(1, maxj - minj, maxj - minj + (lastlen - curlen))
  }
  return column[maxj - minj - 1]!
}

/** Pr(D_n > x) for the two-sided one-sample statistic (scipy.stats.kstwo.sf). */
export function kolmogorovSf(n: number, x: number): number {
  if (!(Number.isInteger(n) && n > 0) || Number.isNaN(x)) return Number.NaN
  if (x >= 1) return 0
  if (x <= 0) return 1
  const t = n * x
  if (t <= 1) {
    // Ruben-Gambino: exact for 1/(2n) <= x <= 1/n.
    if (t <= 0.5) return 1
    let cdf: number
    if (n <= 140) {
      cdf = 1
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1)
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1))
    }
    return clip01(1 - cdf)
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n)
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x))
  const nxSquared = t * x
  if (n <= 140) {
    // Both Durbin's matrix and Pomeranz's recursion are exact here; the matrix is the simpler.
    if (nxSquared <= 4) return clip01(1 - durbinMatrixCdf(n, x))
    return clip01(2 * smirnovSf(n, x))
  }
  if (nxSquared >= 370) return 0
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x))
  let cdf: number
  if (nxSquared >= 18) cdf = 1
  else if (n <= 100_000 && n * x ** 1.5 <= 1.4) cdf = durbinMatrixCdf(n, x)
  else cdf = pelzGoodCdf(n, x)
  return clip01(1 - cdf)
}

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p))
}

/** log(n! / n^n) by Stirling's series with n log n taken out first (no cancellation). */
function logFactorialOverPower(n: number): number {
  return logGamma(n + 1) - n * Math.log(n)
}

/**
 * One-sided Smirnov survival Pr(D+_n >= x), from the Birnbaum-Tingey sum
 * x Σ_{j < n(1-x)} C(n,j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1), every term positive,
 * summed in log space.
 */
export function smirnovSf(n: number, x: number): number {
  if (n === 1) return 1 - x
  if (x <= 0) return 1
  if (x >= 1) return 0
  if (-2 * n * x * x < -708.3964185322641) return 0
  const nx = n * x
  if (Math.floor(nx) >= n - 1) return (1 - x) ** n
  const logTerms: number[] = []
  let maxLog = Number.NEGATIVE_INFINITY
  for (let j = 0; j < n; j++) {
    const rest = (n - j) / n - x
    if (rest <= 0) break
    const logTerm = logBinomial(n, j) + (n - j) * Math.log(rest) + (j - 1) * Math.log(x + j / n)
    logTerms.push(logTerm)
    if (logTerm > maxLog) maxLog = logTerm
  }
  let sum = 0
  for (const logTerm of logTerms) if (logTerm - maxLog > -60) sum += Math.exp(logTerm - maxLog)
  return x * sum * Math.exp(maxLog)
}

const E128 = 2 ** 128
const EM128 = 2 ** -128

/** Durbin's matrix method (Marsaglia, Tsang & Wang 2003): Pr(D_n <= d), exact. */
function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1
  const nd = n * d
  if (nd <= 0.5) return 0
  const k = Math.ceil(nd)
  const h = k - nd
  const m = 2 * k - 1
  let H: Float64Array = new Float64Array(m * m)
  const v = new Float64Array(m)
  const w = new Float64Array(m)
  let factorial = 1
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j
    w[j - 1] = factorial
    factorial /= j
    v[j - 1]! *= factorial
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m
  v[m - 1] = (1 + tt) * factorial
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!
  for (let r = 0; r < m; r++) H[r * m] = v[r]!
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!

  let power: Float64Array = identity(m)
  let exponent = 0
  let hExponent = 0
  let remaining = n
  while (remaining > 0) {
    if (remaining % 2) {
      power = multiply(power, H, m)
      exponent += hExponent
    }
    H = multiply(H, H, m)
    hExponent *= 2
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > E128) {
      for (let i = 0; i < H.length; i++) H[i]! /= E128
      hExponent += 128
    }
    remaining = Math.floor(remaining / 2)
  }
  let p = power[(k - 1) * m + (k - 1)]!
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n
    if (Math.abs(p) < EM128) {
      p *= E128
      exponent -= 128
    }
  }
  return clip01(p * 2 ** exponent)
}

function identity(m: number): Float64Array {
  const out = new Float64Array(m * m)
  for (let i = 0; i < m; i++) out[i * m + i] = 1
  return out
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!
      if (aik === 0) continue
      for (let j = 0; j < m; j++) out[i * m + j]! += aik * b[k * m + j]!
    }
  }
  return out
}

const PI2 = Math.PI ** 2
const PI4 = Math.PI ** 4
const PI6 = Math.PI ** 6
const SQRT2PI = Math.sqrt(2 * Math.PI)
const SQRT3 = Math.sqrt(3)

/** Pelz-Good (1976) expansion of Pr(D_n <= x) in powers of 1/sqrt(n), for large n. */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const z = Math.sqrt(n) * x
  const z2 = z * z
  const z3 = z2 * z
  const z4 = z2 * z2
  const z6 = z4 * z2
  const qlog = -PI2 / 8 / z2
  if (qlog < -708) return 0
  let q = Math.exp(qlog)
  const k1a = -z2
  const k1b = PI2 / 4
  const k2a = 6 * z6 + 2 * z4
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4
  const k2c = (PI4 * (1 - 2 * z2)) / 16
  const k3d = (PI6 * (5 - 30 * z2)) / 64
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4
  const k3a = -30 * z6 - 90 * z ** 8
  const K = [0, 0, 0, 0]
  const maxk = Math.ceil((16 * z) / Math.PI)
  for (let k = maxk; k > 0; k--) {
    const mm = 2 * k - 1
    const m2 = mm * mm
    const m4 = m2 * m2
    const m6 = m4 * m2
    const qpower = q ** (8 * k)
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qpower + coeffs[i]!
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10]
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT2PI) / divisors[i]!
  q = Math.exp(-PI2 / 2 / z2)
  let k2extra = 0
  let k3extra = 0
  const sqrt3z = SQRT3 * z
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k
    const qp = q ** k2
    k2extra += k2 * qp
    const kpi = Math.PI * k
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp
  }
  K[2]! += (k2extra * PI2 * SQRT2PI) / (-36 * z3)
  K[3]! += (k3extra * PI2 * SQRT2PI) / (216 * z6)
  let sum = 0
  for (let i = 0; i < 4; i++) sum += K[i]! / n ** (i / 2)
  return sum
}
