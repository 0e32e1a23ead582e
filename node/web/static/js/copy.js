// The "Copy" button next to a read-only field (the invite link). Without JavaScript the
// button stays hidden and the field's text can be selected and copied by hand.
"use strict";
(function () {
  var buttons = document.querySelectorAll("button[data-copy]");
  if (!navigator.clipboard) {
    return;
  }
  buttons.forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) {
          status.textContent = status.getAttribute("data-done");
        }
      }, function () {
        field.select();
      });
    });
  });
})();
