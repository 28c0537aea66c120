// Fee pages, without inline handlers (the Content-Security-Policy allows only
// scripts from files): a select marked data-autosubmit sends its form when it
// changes (the term switch), and a button marked data-print prints the page.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
