// The catalogue table, sortable by any column and filterable by text, status, field and year, with
// DataTables served from the book itself (reprobook.vendored). The table stays readable without it.
import DataTable from "./vendor/datatables/dt_bundle.js";

const table = document.querySelector("table.reprobook-catalogue");
if (table) {
  const choices = ["Status", "Field", "Year"];      // columns with a drop-down filter
  new DataTable(table, {
    paging: false,
    order: [],
    autoWidth: false,
    initComplete() {
      this.api().columns().every(function () {
        const column = this;
        const name = column.header().textContent.trim();
        if (!choices.includes(name)) return;
        const select = document.createElement("select");
        select.setAttribute("aria-label", `Filter by ${name.toLowerCase()}`);
        select.add(new Option(`any ${name.toLowerCase()}`, ""));
        const values = new Set(column.data().toArray().map((cell) => new DOMParser().parseFromString(cell, "text/html").body.textContent.trim()));
        [...values].sort().forEach((value) => select.add(new Option(value, value)));
        select.addEventListener("change", () => column.search(select.value ? `^${DataTable.util.escapeRegex(select.value)}$` : "", true, false).draw());
        column.header().append(document.createElement("br"), select);
        select.addEventListener("click", (event) => event.stopPropagation());
      });
    },
  });
}
