// The drawing tools beside a board (frontend/_board_tools.html), shared by the session room and the lecture
// studio: the tool, colour and width chosen, undo, redo and clear, and the pages.
//
//   const tools = boardTools(board, { mayDraw, pageLimit, labels, pages: true });
//   tools.apply();   // after a change of who may draw
//   tools.render();  // after the board changed (its onChange)

import { format, setText } from "./page.js";

// A highlighter is wider than a pen of the same setting, an eraser wider still.
const WIDTH_FACTOR = { pen: 1, highlighter: 5, eraser: 6 };

export function boardTools(board, { mayDraw, pageLimit, labels, pages, onApply = () => {}, onRender = () => {} }) {
  const byId = (id) => document.getElementById(id);
  const toolbar = byId("toolbar");
  let chosenTool = "pen";
  let chosenWidth = 6;

  function pressed(selector, isPressed) {
    for (const button of toolbar.querySelectorAll(selector)) {
      button.setAttribute("aria-pressed", String(isPressed(button)));
    }
  }

  function apply() {
    board.tool = mayDraw() ? chosenTool : null;
    board.width = chosenWidth * (WIDTH_FACTOR[chosenTool] || 1);
    if (!toolbar) return;
    pressed("[data-tool]", (button) => button.dataset.tool === chosenTool);
    pressed("[data-color]", (button) => button.dataset.color === board.color);
    pressed("[data-width]", (button) => Number(button.dataset.width) === chosenWidth);
    onApply(chosenTool);
  }

  function render() {
    const page = board.current;
    setText(byId("page-number"), format(labels.pageOf, { page: page + 1, count: board.pageCount }));
    if (toolbar) {
      byId("undo").disabled = board.undoable.length === 0;
      byId("redo").disabled = board.redoable.length === 0;
    }
    if (!pages) return;
    byId("page-previous").disabled = page === 0;
    byId("page-next").disabled = page >= board.pageCount - 1;
    byId("page-new").disabled = board.pageCount >= pageLimit();
    onRender();
  }

  if (toolbar) {
    toolbar.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.tool) chosenTool = button.dataset.tool;
      else if (button.dataset.color) board.color = button.dataset.color;
      else if (button.dataset.width) chosenWidth = Number(button.dataset.width);
      else return;
      apply();
    });
    byId("undo").addEventListener("click", () => board.undo());
    byId("redo").addEventListener("click", () => board.redo());
    byId("clear").addEventListener("click", () => board.clear());
  }
  if (pages) {
    byId("page-previous").addEventListener("click", () => board.showPage(board.current - 1));
    byId("page-next").addEventListener("click", () => board.showPage(board.current + 1));
    byId("page-new").addEventListener("click", () => board.showPage(board.pageCount));
  }
  return { apply, render, get tool() { return chosenTool; } };
}
