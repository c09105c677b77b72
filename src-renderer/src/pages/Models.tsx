export default function ModelsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Models</h1>
      <p className="muted">Coming in a later issue.</p>
    </section>
  )
}
