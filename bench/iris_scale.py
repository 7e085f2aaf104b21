"""Scale check: is MediaPipe's iris diameter biased against the visible limbus in the photo?

Usage: PYTHONPATH=. /work/venv/bin/python bench/iris_scale.py

For every labelled portrait (and the two large samples) the iris landmark diameter (rim points
469-471 / 474-476) is compared with the limbus measured in the image: the radius of the
strongest dark-to-bright step of the median radial lightness profile over the horizontal
sectors (+-35 degrees; the eyelids cover the top and bottom), on an 8x cubic-upsampled patch.
It prints the limbus/landmark ratio per eye and the interpupillary distance that each scale
gives (11.7 mm iris).
"""
import glob
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cv2
import numpy as np

from smp_preview.face import IRIS_LEFT, IRIS_RIGHT, faces_from_result
from smp_preview.models import get_models
from smp_preview.photo import load_photo

m=get_models()
def limbus_radius(gray, c, r0, up=8):
    # radial profiles over the horizontal sectors (eyelids cover top/bottom), on an upsampled patch
    R=int(np.ceil(r0*2.2))+3
    x0,y0=int(c[0])-R,int(c[1])-R
    patch=gray[max(0,y0):y0+2*R+1, max(0,x0):x0+2*R+1].astype(np.float32)
    if patch.shape!=(2*R+1,2*R+1): return np.nan
    big=cv2.resize(patch,None,fx=up,fy=up,interpolation=cv2.INTER_CUBIC)
    cx,cy=(c[0]-x0)*up+ (up-1)/2, (c[1]-y0)*up+(up-1)/2
    rs=np.arange(0.7*r0, 1.4*r0, 0.05)*up
    prof=[]
    for ang in np.radians(np.r_[np.arange(-35,36,5), np.arange(145,216,5)]):
        xs=cx+rs*np.cos(ang); ys=cy+rs*np.sin(ang)
        prof.append(cv2.remap(big, xs.astype(np.float32)[None], ys.astype(np.float32)[None], cv2.INTER_LINEAR)[0])
    p=np.median(np.array(prof),0)
    g=np.gradient(p)
    return rs[np.argmax(g)]/up
rows=[]
files=sorted(glob.glob("/work/shared/photos/house/photos/*.jpg"))+["samples/obama.jpg","samples/biden.jpg"]
for fn in files:
    rgb=load_photo(fn).rgb
    res=m.landmarks(rgb)
    fs=faces_from_result(res, rgb.shape[:2])
    if not fs: continue
    f=fs[0]; lm=f.landmarks_px
    gray=cv2.cvtColor(rgb,cv2.COLOR_RGB2GRAY)
    out=[]
    for idx in (IRIS_RIGHT, IRIS_LEFT):
        rim=lm[list(idx[1:]),:2]; c=lm[idx[0],:2]
        d_lm=np.linalg.norm(rim[0]-rim[2])
        r_meas=limbus_radius(gray, c, d_lm/2)
        out.append((d_lm, 2*r_meas))
    ipd=np.linalg.norm(lm[468,:2]-lm[473,:2])
    rows.append((fn.split('/')[-1], out, ipd))
    print('%-14s lm diam %5.1f %5.1f  limbus %5.1f %5.1f ratio %.3f %.3f  IPD(lm-iris scale) %.1f mm  IPD(limbus scale) %.1f mm'%(
        rows[-1][0], out[0][0], out[1][0], out[0][1], out[1][1], out[0][1]/out[0][0], out[1][1]/out[1][0],
        ipd/(np.mean([o[0] for o in out])/11.7), ipd/(np.mean([o[1] for o in out])/11.7)))
r=np.array([[o[1]/o[0] for o in row[1]] for row in rows])
ipd_lm=np.array([row[2]/(np.mean([o[0] for o in row[1]])/11.7) for row in rows])
ipd_li=np.array([row[2]/(np.mean([o[1] for o in row[1]])/11.7) for row in rows])
print('limbus/landmark diameter ratio: median %.3f, IQR %.3f-%.3f, n=%d eyes'%(np.median(r), *np.percentile(r,[25,75]), r.size))
print(f'IPD with landmark iris scale: median {np.median(ipd_lm):.1f} mm ({ipd_lm.min():.1f}-{ipd_lm.max():.1f}); with limbus scale: median {np.median(ipd_li):.1f} ({ipd_li.min():.1f}-{ipd_li.max():.1f})')
ok=(r>0.72)&(r<1.38)
print('valid eyes (limbus found inside 0.72-1.38 of the landmark radius): %d of %d; ratio median %.3f, mean %.3f, IQR %.3f-%.3f'%(ok.sum(), r.size, np.median(r[ok]), r[ok].mean(), *np.percentile(r[ok],[25,75])))
both=ok.all(1)
print('photos with both eyes valid: %d; per-photo mean ratio median %.3f'%(both.sum(), np.median(r[both].mean(1))))
print(f'IPD landmark scale median {np.median(ipd_lm):.1f}; corrected by the median ratio: {np.median(ipd_lm)/np.median(r[ok]):.1f}')
rv = r[ok]
boot = [np.median(np.random.default_rng(i).choice(rv, len(rv))) for i in range(2000)]
print("per-eye median ratio {:.3f}, bootstrap 95% CI {:.3f}-{:.3f} (a CI containing 1 means no bias is "
      "detectable at this resolution)".format(np.median(rv), *np.percentile(boot, [2.5, 97.5])))
