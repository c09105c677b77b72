export default function DatasetsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Datasets</h1>
      <p className="muted">Coming in a later issue.</p>
    </section>
  )
}
