() => {
  // Evaluated by tests/browser/test_pages.py in the page (Playwright page.evaluate).
  const w = window.innerWidth, bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right <= 0) continue;                      // parked off-screen on purpose (skip link, stacked thead)
    if (r.right > w + 0.5 || r.width > w + 0.5) bad.push(`${el.tagName}${el.id ? '#' + el.id : ''} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: w, bad: bad.slice(0, 10)};
}
