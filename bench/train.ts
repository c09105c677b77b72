export async function run(): Promise<void> {
  throw new Error('bench "train" is not written yet')
}
