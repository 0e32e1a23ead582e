// Progressive upload for forms marked data-upload: the same form is sent with XMLHttpRequest
// so a <progress> can show how much of the photos has left; the server's answer is then
// followed like a plain post would be (a redirect loads the new page, an error page replaces
// the form). Without this script the form posts as usual.
(function () {
  "use strict";

  function bind(form) {
    var progress = form.querySelector("progress.upload-progress");
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) {
        return;
      }
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      if (progress) {
        progress.hidden = false;
        progress.value = 0;
      }
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      }
      request.upload.addEventListener("progress", function (e) {
        if (progress && e.lengthComputable) {
          progress.value = Math.round((e.loaded / e.total) * 100);
        }
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL && request.responseURL !== form.action) {
          window.location.assign(request.responseURL); // the redirect a plain post follows
          return;
        }
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        var main = page.querySelector("main");
        var current = document.querySelector("main");
        if (main && current) {
          current.replaceWith(main);
          document.title = page.title;
          var again = main.querySelector("form[data-upload]");
          if (again) {
            bind(again);
          }
          main.focus();
        } else {
          form.submit();
        }
      });
      request.addEventListener("error", function () {
        form.submit(); // the network failed: let the browser try the plain post
      });
      request.send(new FormData(form));
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(bind);
})();
