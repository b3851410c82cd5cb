// The layout checks of tests/frontend/test_pages.py, run in the page: how wide the document is (and what sticks
// out past the screen), which visible interactive elements overlap (an element and one inside it do not count;
// visually hidden ones, 1 px, are not visible), and which buttons are smaller than a 44 px touch target.
() => {
  const visible = (element) => {
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return box.width >= 2 && box.height >= 2 && style.visibility !== "hidden" && !element.closest("[hidden]");
  };
  const describe = (element) => {
    const box = element.getBoundingClientRect();
    const name = (element.innerText || element.value || element.getAttribute("aria-label") || "").trim().slice(0, 20);
    const id = element.id ? `#${element.id}` : "";
    return `${element.tagName.toLowerCase()}${id} "${name}" at ${Math.round(box.x)},${Math.round(box.y)}, ${Math.round(box.width)}×${Math.round(box.height)}`;
  };
  const interactive = [
    ...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex="-1"]), video[controls], audio[controls]',
    ),
  ].filter(visible);
  const overlaps = [];
  interactive.forEach((first, index) => {
    for (const second of interactive.slice(index + 1)) {
      if (first.contains(second) || second.contains(first)) continue;
      const a = first.getBoundingClientRect();
      const b = second.getBoundingClientRect();
      const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (width > 1 && height > 1) overlaps.push(`${describe(first)} and ${describe(second)}`);
    }
  });
  const buttons = [
    ...document.querySelectorAll("button, [role=button], input[type=submit], input[type=button], a.button, summary, select"),
  ].filter(visible);
  const small = buttons
    .filter((element) => {
      const box = element.getBoundingClientRect();
      return box.height < 44 || box.width < 44;
    })
    .map(describe);
  const screen = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll("*")]
    .filter((element) => element.getBoundingClientRect().right > screen + 1 && visible(element))
    .slice(0, 5)
    .map(describe);
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, overlaps, small, wide };
}
