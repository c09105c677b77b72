/**
 * Special functions the drift tests need for their p-values, in plain TypeScript so
 * that a report needs no Python: log-gamma and the regularized upper incomplete gamma
 * (the chi-square survival function). Accurate to about 1e-14 relative in the ranges
 * drift reports use, well inside the 1e-6 agreement with SciPy the reports promise.
 */

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)

/** B_2j / (2j (2j-1)) for j = 1..8: the Stirling series of log-gamma. */
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400]

/** log Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN
  // The Stirling series converges to double precision once x >= 15; shift smaller x up.
  let shift = 0
  while (x < 15) {
    shift += Math.log(x)
    x += 1
  }
  const inv = 1 / x
  const inv2 = inv * inv
  let series = 0
  for (let j = STIRLING.length - 1; j >= 0; j--) series = series * inv2 + STIRLING[j]!
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series * inv - shift
}

/** log of the binomial coefficient C(n, k). */
export function logBinomial(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
}

const TINY = 1e-300
const EPS = 1e-16

/** Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN
  if (x <= 0) return 1
  if (x === Number.POSITIVE_INFINITY) return 0
  const logPrefactor = -x + a * Math.log(x) - logGamma(a)
  if (x < a + 1) {
    // The lower series converges fast here, and Q is not small, so 1 - P loses nothing.
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n)
      sum += term
      if (Math.abs(term) < Math.abs(sum) * EPS) break
    }
    return 1 - sum * Math.exp(logPrefactor)
  }
  // Continued fraction for Γ(a, x) (modified Lentz), accurate in the far tail.
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let h = d
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < EPS) break
  }
  return Math.exp(logPrefactor) * h
}

/** Survival function of the chi-square distribution with `df` degrees of freedom. */
export function chiSquareSf(statistic: number, df: number): number {
  if (df <= 0) return Number.NaN
  return Math.min(1, Math.max(0, gammaQ(df / 2, statistic / 2)))
}

/** numpy.round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}
