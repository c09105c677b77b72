import type { ReactNode } from 'react'

/**
 * The small markdown a model card uses (headings, paragraphs, lists, tables,
 * `code`, _emphasis_, **strong**), rendered as React elements: no HTML from the
 * card ever reaches the DOM as markup.
 */
export function Markdown({ text }: { text: string }) {
  const blocks: ReactNode[] = []
  const lines = text.split('\n')
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (!line.trim()) {
      i++
      continue
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line)
    if (heading) {
      const level = Math.min(heading[1]!.length + 2, 6)
      const Tag = `h${level}` as 'h3'
      blocks.push(<Tag key={i}>{inline(heading[2]!)}</Tag>)
      i++
    } else if (line.startsWith('|')) {
      const rows: string[][] = []
      while (i < lines.length && lines[i]!.startsWith('|')) {
        const cells = lines[i]!.replace(/^\||\|$/g, '')
          .split(/(?<!\\)\|/)
          .map((c) => c.trim().replaceAll('\\|', '|'))
        if (!cells.every((c) => /^-+$/.test(c))) rows.push(cells)
        i++
      }
      const [head, ...body] = rows
      blocks.push(
        <table key={i} className="data-table">
          <thead>
            <tr>
              {head?.map((c, k) => (
                <th key={k}>{inline(c)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.map((r, k) => (
              <tr key={k}>
                {r.map((c, j) => (
                  <td key={j}>{inline(c)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>,
      )
    } else if (/^[-*]\s/.test(line)) {
      const items: string[] = []
      while (i < lines.length && /^[-*]\s/.test(lines[i]!)) items.push(lines[i++]!.slice(2))
      blocks.push(
        <ul key={i}>
          {items.map((item, k) => (
            <li key={k}>{inline(item)}</li>
          ))}
        </ul>,
      )
    } else {
      const para: string[] = []
      while (i < lines.length && lines[i]!.trim() && !/^(#|\||[-*]\s)/.test(lines[i]!)) para.push(lines[i++]!)
      blocks.push(<p key={i}>{inline(para.join(' '))}</p>)
    }
  }
  return <div className="markdown">{blocks}</div>
}

function inline(text: string): ReactNode[] {
  const parts = text.split(/(`[^`]+`|\*\*[^*]+\*\*|_[^_]+_)/g)
  return parts.map((part, k) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) return <code key={k}>{part.slice(1, -1)}</code>
    if (part.startsWith('**') && part.endsWith('**') && part.length > 3) return <strong key={k}>{part.slice(2, -2)}</strong>
    if (part.startsWith('_') && part.endsWith('_') && part.length > 1) return <em key={k}>{part.slice(1, -1)}</em>
    return part
  })
}
