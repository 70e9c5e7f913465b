// The compose page's recipient e-mail fields as comboboxes (the WAI-ARIA combobox pattern with
// a listbox popup): typing suggests directory contacts and addresses used before; arrow keys
// move, Enter picks, Escape closes. Picking fills the address, the name and the way of
// verifying; the number and code stay on the server, which adds them when the message is sent.
// Without JavaScript the field is a plain e-mail field and the server still uses the directory.
(function () {
  "use strict";

  var DELAY = 150;

  function text(list, name, values) {
    var value = list.getAttribute("data-suggest-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { value = value.split("{" + key + "}").join(values[key]); });
    return value;
  }

  function methodLabel(row, method) {
    var select = row && row.querySelector("[data-method]");
    var option = select && select.querySelector("option[value='" + method + "']");
    return option ? option.textContent.trim() : method;
  }

  function setup(list) {
    var url = list.getAttribute("data-suggest-url");
    var status = document.querySelector("[data-suggest-status]");
    if (!url || !window.fetch) return;
    var state = { input: null, results: [], active: -1, timer: 0, asked: "" };

    function say(message) { if (status) status.textContent = message; }

    function listboxOf(input) {
      var box = input.parentNode.querySelector("[data-suggest-listbox]");
      if (!box) {
        box = document.createElement("ul");
        box.setAttribute("role", "listbox");
        box.setAttribute("data-suggest-listbox", "");
        box.className = "suggestions";
        box.hidden = true;
        input.parentNode.appendChild(box);
        box.addEventListener("mousedown", function (event) { event.preventDefault(); });
        box.addEventListener("click", function (event) {
          var option = event.target.closest && event.target.closest("[role=option]");
          if (option) pick(input, Number(option.getAttribute("data-index")));
        });
      }
      // Rows are renumbered and copied (compose.js): the ids follow the input's.
      box.id = input.id + "-listbox";
      box.setAttribute("aria-label", text(list, "label"));
      return box;
    }

    function enhance(input) {
      if (!input.hasAttribute("data-combobox")) {
        input.setAttribute("data-combobox", "");
        input.setAttribute("role", "combobox");
        input.setAttribute("aria-autocomplete", "list");
      }
      var box = listboxOf(input);
      input.setAttribute("aria-controls", box.id);
      if (box.hidden) {
        input.setAttribute("aria-expanded", "false");
        input.removeAttribute("aria-activedescendant");
      }
      // A copied row starts empty: what was said of the copied recipient does not apply.
      var row = input.closest("[data-recipient-row]");
      var note = row && row.querySelector("[data-directory-note]");
      if (note && !input.value) note.remove();
      return box;
    }

    function close(input) {
      if (!input) return;
      var box = listboxOf(input);
      box.hidden = true;
      box.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      if (state.input === input) { state.results = []; state.active = -1; }
    }

    function describe(row, entry) {
      var parts = [entry.in_directory ? text(list, "directory") : text(list, "used")];
      if (entry.method) parts.push(methodLabel(row, entry.method));
      if (entry.phone) parts.push(text(list, "phone", { phone: entry.phone }));
      if (entry.has_access_code) parts.push(text(list, "code"));
      return parts.join(" · ");
    }

    function show(input, results) {
      var box = listboxOf(input);
      var row = input.closest("[data-recipient-row]");
      state.input = input;
      state.results = results;
      state.active = -1;
      box.textContent = "";
      results.forEach(function (entry, index) {
        var option = document.createElement("li");
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-index", String(index));
        option.id = input.id + "-option-" + index;
        var label = document.createElement("span");
        label.className = "suggestion-label";
        label.textContent = entry.label;
        var detail = document.createElement("span");
        detail.className = "suggestion-detail";
        detail.textContent = describe(row, entry);
        option.appendChild(label);
        option.appendChild(document.createTextNode(" "));
        option.appendChild(detail);
        box.appendChild(option);
      });
      box.hidden = !results.length;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      input.removeAttribute("aria-activedescendant");
      say(results.length === 1 ? text(list, "one")
        : results.length ? text(list, "many", { n: String(results.length) }) : text(list, "none"));
    }

    function activate(input, index) {
      var box = listboxOf(input);
      var options = box.querySelectorAll("[role=option]");
      if (!options.length) return;
      state.active = (index + options.length) % options.length;
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === state.active ? "true" : "false");
      });
      var chosen = options[state.active];
      input.setAttribute("aria-activedescendant", chosen.id);
      if (chosen.scrollIntoView) chosen.scrollIntoView({ block: "nearest" });
    }

    function pick(input, index) {
      var entry = state.results[index];
      if (!entry) return;
      var row = input.closest("[data-recipient-row]");
      input.value = entry.email;
      close(input);
      if (row) {
        var name = row.querySelector("input[name$='-name']");
        if (name && !name.value) name.value = entry.name;
        var method = row.querySelector("[data-method]");
        if (method && entry.method && method.querySelector("option[value='" + entry.method + "']")) {
          method.value = entry.method;
          method.dispatchEvent(new Event("change", { bubbles: true }));
        }
        if (entry.in_directory) {
          // Left empty, the server adds the directory's number and code; typed, they win.
          row.querySelectorAll("input[name$='-phone'], input[name$='-access_code'], input[name$='-hint']")
            .forEach(function (field) { field.value = ""; });
        }
        var note = row.querySelector("[data-directory-note]");
        if (!note) {
          note = document.createElement("p");
          note.className = "hint";
          note.setAttribute("data-directory-note", "");
          input.parentNode.appendChild(note);
        }
        note.textContent = entry.in_directory ? text(list, "note-directory", { who: entry.label })
          : text(list, "note-used", { who: entry.label, method: methodLabel(row, entry.last_method) });
        say(note.textContent);
      }
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function ask(input) {
      var query = input.value.trim();
      if (!query) { close(input); return; }
      if (query === state.asked && state.input === input) return;
      state.asked = query;
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (answer) {
        // Only the answer to what the field holds now counts.
        if (document.activeElement !== input || input.value.trim() !== query) return;
        if (!answer.ok) { close(input); say(answer.data.error || ""); return; }
        show(input, answer.data.results || []);
      }).catch(function () { state.asked = ""; });
    }

    // Every field is a combobox from the start (a screen reader announces it as one); a row
    // added later becomes one when it takes focus, as compose.js gives it at once.
    list.querySelectorAll("input[type=email]").forEach(enhance);
    list.addEventListener("focusin", function (event) {
      if (event.target.matches && event.target.matches("input[type=email]")) enhance(event.target);
    });
    list.addEventListener("focusout", function (event) {
      if (event.target.hasAttribute && event.target.hasAttribute("data-combobox")) close(event.target);
    });
    list.addEventListener("input", function (event) {
      var input = event.target;
      if (!input.hasAttribute || !input.hasAttribute("data-combobox") || !event.isTrusted) return;
      var row = input.closest("[data-recipient-row]");
      var note = row && row.querySelector("[data-directory-note]");
      if (note) note.remove();  // another address: what was said no longer holds
      clearTimeout(state.timer);
      state.timer = setTimeout(function () { ask(input); }, DELAY);
    });
    list.addEventListener("keydown", function (event) {
      var input = event.target;
      if (!input.hasAttribute || !input.hasAttribute("data-combobox")) return;
      var open = input.getAttribute("aria-expanded") === "true";
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) {
          state.asked = "";
          ask(input);
          return;
        }
        activate(input, state.active + (event.key === "ArrowDown" ? 1 : (state.active < 0 ? 0 : -1)));
      } else if (event.key === "Enter" && open && state.active >= 0) {
        event.preventDefault();  // picking is not sending
        pick(input, state.active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close(input);
        state.asked = "";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-recipient-list][data-suggest-url]").forEach(setup);
  });
})();
