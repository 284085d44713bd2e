# Creates requests over HTTP (keep-alive, N threads) for S seconds; prints requests/s.
# usage: drive.py PORT TOKEN SECONDS THREADS ACTION.json (benches/shadow/run.sh runs it)
import http.client, json, sys, threading, time
port, token, seconds, threads, body = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), open(sys.argv[5]).read()
count = [0]*threads
stop = time.time() + seconds
def work(i):
    c = http.client.HTTPConnection("127.0.0.1", port)
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    while time.time() < stop:
        c.request("POST", "/v1/requests", body, h)
        r = c.getresponse(); r.read()
        assert r.status == 201, r.status
        count[i] += 1
ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
t0 = time.time()
for t in ts: t.start()
for t in ts: t.join()
print("%.1f" % (sum(count) / (time.time() - t0)))
