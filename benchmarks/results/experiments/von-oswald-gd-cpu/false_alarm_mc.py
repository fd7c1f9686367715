# How often the closed-form check of von-oswald-gd rejects the exact closed form by chance: numpy Monte Carlo of one
# optimal GD step from 0 at d = N = 10, x ~ U(-1, 1)^d, w ~ N(0, I) (papers.md section 9.7), with the check's normal
# interval over the prompts. Run: python3 false_alarm_mc.py (a few minutes).
import numpy as np

rng = np.random.default_rng(0)
d = n = 10
s = 1 / 3
eta = 1 / (s * (1 + (d - 0.2) / n))
closed = (d - 0.2) / (n + d - 0.2)


def errors(prompts):
    x = rng.uniform(-1, 1, (prompts, n + 1, d))
    w = rng.standard_normal((prompts, d))
    y = np.einsum("pnd,pd->pn", x, w)
    g = (y[:, :n, None] * x[:, :n]).mean(1)
    return (eta * (x[:, n] * g).sum(1) - y[:, n]) ** 2 / (d * s)


e = errors(2_000_000)
print(f"2e6 prompts: mean {e.mean():.4f}, closed form {closed:.4f}, kurtosis {((e - e.mean())**4).mean() / e.var()**2:.1f}")
for prompts, z, reps in ((4096, 1.96, 2000), (4096, 2.576, 2000), (65536, 2.576, 400)):
    miss = 0
    for _ in range(reps):
        e = errors(prompts)
        miss += abs(e.mean() - closed) > z * e.std(ddof=1) / np.sqrt(prompts)
    print(f"{prompts} prompts, z = {z}: closed form rejected in {miss / reps:.4f} of {reps} draws")
