import numpy as np, gzip
d='/usr/share/datasets/fashion-mnist/'
def idx(f):
    b=gzip.open(d+f).read()
    nd=b[3]; dims=[int.from_bytes(b[4+4*i:8+4*i],'big') for i in range(nd)]
    return np.frombuffer(b,np.uint8,offset=4+4*nd).reshape(dims)
xtr=idx('train-images-idx3-ubyte.gz').reshape(60000,-1).astype(np.float64)
xte=idx('t10k-images-idx3-ubyte.gz').reshape(10000,-1).astype(np.float64)
ytr=idx('train-labels-idx1-ubyte.gz').astype(np.int64); yte=idx('t10k-labels-idx1-ubyte.gz').astype(np.int64)
np.save('ytr.npy',ytr); np.save('yte.npy',yte)
def ss(x):
    m=x.mean(1,keepdims=True); s=x.std(1,keepdims=True); return (x-m)/np.maximum(s,1e-30)
xtr=ss(xtr); xte=ss(xte)
np.save('ss_tr.npy',xtr.astype(np.float32)); np.save('ss_te.npy',xte.astype(np.float32))
mu=xtr.mean(0); C=np.cov((xtr-mu).T, bias=True)
w,V=np.linalg.eigh(C)
print('eig sum',w.sum(),'max',w.max(),'median',np.median(w))
for eps in [0.1,0.01,1.0]:
    W=V@np.diag(1/np.sqrt(w.clip(0)+eps))@V.T
    a=((xtr-mu)@W).astype(np.float32); b=((xte-mu)@W).astype(np.float32)
    np.save(f'zca{eps}_tr.npy',a); np.save(f'zca{eps}_te.npy',b)
    print(eps, a.std(), b.std())
