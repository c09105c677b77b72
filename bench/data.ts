export async function run(): Promise<void> {
  throw new Error('bench "data" is not written yet')
}
