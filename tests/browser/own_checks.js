() => {
  // Evaluated by tests/browser/test_pages.py in the page (Playwright page.evaluate).
  const problems = [];
  if (document.documentElement.lang !== 'en-GB') problems.push('lang is ' + document.documentElement.lang);
  const hs = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]);
  if (hs.filter(l => l === 1).length !== 1 || hs[0] !== 1) problems.push('h1 count/position: ' + hs.slice(0, 5));
  hs.forEach((l, i) => { if (i && l > hs[i - 1] + 1) problems.push(`h${hs[i - 1]} then h${l}`); });
  for (const lm of ['header', 'main', 'footer']) if (!document.querySelector(lm)) problems.push('no <' + lm + '>');
  for (const c of document.querySelectorAll('input:not([type=hidden]),select,textarea')) {
    if (!c.labels || !c.labels.length) problems.push('unlabelled control ' + (c.name || c.id));
  }
  for (const s of document.querySelectorAll('svg[role=img]')) {
    if (!s.getAttribute('aria-labelledby') && !s.getAttribute('aria-label')) problems.push('svg without a name');
  }
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  if (new Set(ids).size !== ids.length) problems.push('duplicate ids');
  const rgb = s => { const m = s.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                     return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bgOf = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.a > 0) return c; }
                       return {r: 255, g: 255, b: 255, a: 1}; };
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg')) continue;
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const r = el.getBoundingClientRect();
    if (!text || r.width === 0 || r.right <= 0) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.clipPath === 'inset(50%)') continue;
    const fg = rgb(cs.color), bg = bgOf(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(cs.fontSize), bold = +cs.fontWeight >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) problems.push(`contrast ${ratio.toFixed(2)} < ${need} on ${el.tagName}: ${el.textContent.trim().slice(0, 30)}`);
  }
  return problems;
}
