#!/usr/bin/env python3
"""Integration: the production nginx site (deploy/nginx/leadhook.conf) in
front of a real leadhook, as an operator installs it: its public HTTPS
server (with a throwaway self-signed certificate) and its loopback
operations server, both moved to free loopback ports, the upstream pointed
at the test stack's leadhook socket.

What the public sees: no nginx version, an index that lists only what the
public server serves (every listed route answers there, none is 404), the
operations routes 404; a signed webhook is stored. The operations server
answers health, ready and metrics.
"""
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import REPO, Stack, free_port, json_webhook  # noqa: E402

SITE = os.path.join(REPO, "deploy", "nginx", "leadhook.conf")
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def render_site(text, socket, cert, key, public_port, ops_port):
    """The site as an operator fills it in, on loopback ports."""
    text = (text.replace("@SERVER_NAME@", "leadhook.test").replace("@TLS_CERTIFICATE@", cert)
            .replace("@TLS_CERTIFICATE_KEY@", key)
            .replace("unix:/run/leadhook/leadhook.sock", "unix:" + socket))
    text = re.sub(r"listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % public_port, text)
    text = re.sub(r"listen 127\.0\.0\.1:9180;", "listen 127.0.0.1:%d;" % ops_port, text)
    return re.sub(r"\n *listen \[::1?\]:\d+( ssl)?;", "", text)


class ProductionSiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not NGINX:
            raise RuntimeError("nginx not found (apt-get install nginx-light)")
        cls.stack = Stack()
        cls.dir = tempfile.mkdtemp(prefix="leadhook-site-")
        cls.nginx = None
        try:
            cls.start_nginx()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_nginx(cls):
        d = cls.dir
        cert, key = os.path.join(d, "site.crt"), os.path.join(d, "site.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=leadhook.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        shutil.copy("/etc/nginx/fastcgi_params", os.path.join(d, "fastcgi_params"))
        cls.public_port, cls.ops_port = free_port(), free_port()
        with open(SITE) as f:
            site = render_site(f.read(), cls.stack.env["LEADHOOK_SOCKET"], cert, key,
                               cls.public_port, cls.ops_port)
        with open(os.path.join(d, "site.conf"), "w") as f:
            f.write(site)
        temp = "".join("    %s_temp_path %s/%s;\n" % (m, d, m)
                       for m in ("client_body", "fastcgi", "proxy", "scgi", "uwsgi"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                    "events { worker_connections 64; }\n"
                    "http {\n    access_log off;\n%s    include %s/site.conf;\n}\n"
                    % (d, d, temp, d))
        cls.nginx = subprocess.Popen([NGINX, "-p", d + "/", "-c", os.path.join(d, "nginx.conf"),
                                      "-e", os.path.join(d, "error.log"), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while True:
            try:
                cls.ops("GET", "/api/v1/health")
                return
            except OSError:
                if cls.nginx.poll() is not None or time.time() > deadline:
                    raise RuntimeError("nginx did not start: %s" % cls.nginx.stderr.read())
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        if cls.nginx and cls.nginx.poll() is None:
            cls.nginx.send_signal(signal.SIGQUIT)
            cls.nginx.wait(timeout=30)
        shutil.rmtree(cls.dir, ignore_errors=True)
        cls.stack.stop()

    @classmethod
    def public(cls, method, path, body=None, content_type=None):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
        conn = http.client.HTTPSConnection("127.0.0.1", cls.public_port, timeout=30,
                                           context=context)
        return cls.exchange(conn, method, path, body, content_type)

    @classmethod
    def ops(cls, method, path):
        return cls.exchange(http.client.HTTPConnection("127.0.0.1", cls.ops_port, timeout=30),
                            method, path, None, None)

    @staticmethod
    def exchange(conn, method, path, body, content_type):
        conn.request(method, path, body=body,
                     headers={"Content-Type": content_type} if content_type else {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, response.getheader("Server"), data

    def test_no_nginx_version_anywhere(self):
        for status, server, body in (self.public("GET", "/api/v1/index"),
                                     self.public("GET", "/nothing-here"),
                                     self.public("GET", "/api/v1/metrics"),
                                     self.ops("GET", "/api/v1/ready")):
            self.assertEqual(server, "nginx")
            self.assertNotRegex(body.decode(errors="replace"), r"nginx/\d")

    def test_the_public_index_lists_only_what_the_public_server_serves(self):
        status, _, body = self.public("GET", "/api/v1/index")
        self.assertEqual(status, 200)
        routes = json.loads(body)["routes"]
        self.assertIn("events", routes)
        for name, path in routes.items():
            with self.subTest(route=name):
                if name == "index":
                    answered = self.public("GET", path)[0]
                else:  # an unsigned body: refused by leadhook, not by nginx
                    answered = self.public("POST", path, b"{}", "application/json")[0]
                self.assertIn(answered, (200, 406, 409))
        for path in ("/api/v1/health", "/api/v1/ready", "/api/v1/metrics"):
            self.assertEqual(self.public("GET", path)[0], 404, path)
            self.assertEqual(self.ops("GET", path)[0], 200, path)

    def test_a_signed_webhook_through_the_public_server_is_stored(self):
        self.stack.sql("INSERT INTO leads (email_addr, followup_email_sent_date)"
                       " VALUES ('site@example.com', now())")
        status, _, body = self.public("POST", "/api/v1/wh/mg/events", json_webhook(
            {"event": "delivered", "timestamp": time.time(), "recipient": "site@example.com"}),
            "application/json")
        self.assertEqual((status, json.loads(body)["status"]), (200, "success"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
