export async function run(): Promise<void> {
  throw new Error('bench "serve" is not written yet')
}
