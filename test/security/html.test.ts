import { describe, expect, it } from 'vitest';
import { escapeHtml, html, jsonBlock, safeUrl, trusted } from '../../core/html.ts';

describe('html template helper', () => {
  it('escapes every interpolated value unless it is SafeHtml', () => {
    const title = '<img src=x onerror=alert(1)>"\'`&';
    const page = html`<td title="${title}">${title}</td>${trusted('<br>')}`;
    expect(page.value).toBe(
      '<td title="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;&amp;">&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;&amp;</td><br>',
    );
  });
  it('joins arrays, keeps nested templates and drops null, undefined and false', () => {
    const items = ['a<b', 'c'];
    expect(html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${null}${undefined}${false}${0}`.value).toBe(
      '<ul><li>a&lt;b</li><li>c</li></ul>0',
    );
    expect(html`${['<x>', html`<y>`]}`.value).toBe('&lt;x&gt;<y>');
  });
  it('lets only harmless links through', () => {
    expect(safeUrl('https://example.jp/a?b=1')).toBe('https://example.jp/a?b=1');
    expect(safeUrl('/municipalities/24201')).toBe('/municipalities/24201');
    expect(safeUrl(' javascript:alert(1)')).toBe('#');
    expect(safeUrl('data:text/html,<x>')).toBe('#');
    expect(safeUrl('//evil.example')).toBe('#');
  });
  it('embeds JSON that cannot close its element', () => {
    const block = jsonBlock('d', { t: '</script><script>alert(1)</script>', u: '\u2028' }).value;
    expect(block).not.toMatch(/<\/script>.*<\/script>/s);
    const inner = block.slice(block.indexOf('>') + 1, block.lastIndexOf('</script>'));
    expect(JSON.parse(inner)).toEqual({ t: '</script><script>alert(1)</script>', u: '\u2028' });
    expect(escapeHtml('&')).toBe('&amp;');
  });
});
