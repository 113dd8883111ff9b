// A small progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise (CI logs).
export interface ProgressBar {
  update: (done: number) => void
  done: () => void
}

export function progressBar (label: string, total: number, enabled = true): ProgressBar {
  const started = Date.now()
  const tty = process.stderr.isTTY === true
  let lastDraw = 0
  let lastTenth = -1
  let current = 0
  const line = (): string => {
    const fraction = total === 0 ? 1 : current / total
    const width = 30
    const filled = Math.round(fraction * width)
    const seconds = (Date.now() - started) / 1000
    const eta = fraction > 0 && fraction < 1 ? ` eta ${Math.round(seconds / fraction - seconds)} s` : ''
    return `${label.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${current.toLocaleString('en')}/${total.toLocaleString('en')} ${seconds.toFixed(1)} s${eta}`
  }
  return {
    update (done) {
      current = done
      if (!enabled) return
      if (tty) {
        if (Date.now() - lastDraw < 100 && done < total) return
        lastDraw = Date.now()
        process.stderr.write(`\r${line()}\x1b[K`)
      } else {
        const tenth = Math.floor((done / Math.max(total, 1)) * 10)
        if (tenth !== lastTenth) { lastTenth = tenth; process.stderr.write(`${line()}\n`) }
      }
    },
    done () {
      if (enabled && tty) process.stderr.write(`\r${line()}\x1b[K\n`)
    }
  }
}
