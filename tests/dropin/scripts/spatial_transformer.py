"""The Spatial Transformer Networks tutorial's model (a localisation net regressing theta,
F.affine_grid + F.grid_sample in front of a small classifier) trained on generated digits, and
a U-Net-style decoder (nn.Upsample, F.interpolate, PixelShuffle, skip connections) trained on
a generated segmentation task."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(5)


def same_start(model):
    with torch.no_grad():  # the same starting weights on both libraries
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.uniform(-0.08, 0.08, tuple(p.shape)).astype(np.float32)))


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

    def init_transform(self):
        # Initialize the weights/bias with a fixed transformation: the tutorial starts from the
        # identity; a slight zoom and turn here, because the identity puts every sampling point
        # exactly on a pixel centre, where the gradient's side (which neighbour) hangs on the
        # last bit of rounding (ember rounds as torch's AVX2/AVX-512 CPU kernels do, but a
        # script should not depend on the machine)
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([0.93, 0.07, 0.03, -0.06, 0.95, -0.02],
                                                    dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        return x, theta

    def forward(self, x):
        # transform the input (the tutorial's dropout layers are left out: no random draws)
        x, theta = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1), theta


model = Net()
same_start(model)
model.init_transform()
print(model.fc_loc)

images = torch.tensor(rng.standard_normal((32, 1, 28, 28)).astype(np.float32))
targets = torch.tensor(rng.integers(0, 10, 32))
optimizer = optim.SGD(model.parameters(), lr=0.01)
# one short epoch with small weights: float32 rounding differs between the libraries in the
# last bits, and a max-pooling window holding two nearly equal values (the zero-padded
# corners the transform brings in are flat) may then pick different winners; a long or
# unstable run amplifies that into different (equally valid) trajectories
model.train()
for batch_idx, i in enumerate(range(0, 32, 8)):
    data, target = images[i:i + 8], targets[i:i + 8]
    optimizer.zero_grad()
    output, theta = model(data)
    loss = F.nll_loss(output, target)
    loss.backward()
    optimizer.step()
    print(f"Train step: {batch_idx} Loss: {loss.item():.6f}")
model.eval()
with torch.no_grad():
    output, theta = model(images)
    pred = output.max(1, keepdim=True)[1]
    correct = pred.eq(targets.view_as(pred)).sum().item()
    print(f"Accuracy: {correct}/{len(images)}")
    print("theta[0]", [round(v, 4) for v in theta[0].flatten().tolist()])
    warped, _ = model.stn(images[:2])
    print("warped", tuple(warped.shape), round(warped.abs().mean().item(), 5))


class Up(nn.Module):
    """Upscaling then double conv, as U-Net's decoder blocks."""

    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        else:
            self.up = nn.Sequential(nn.Conv2d(in_channels, in_channels * 4, 1), nn.PixelShuffle(2))
        self.conv = nn.Sequential(nn.Conv2d(in_channels * 2, out_channels, 3, padding=1),
                                  nn.ReLU(inplace=True))

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True))
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.up1 = Up(8, 8, bilinear=True)
        self.up2 = Up(8, 8, bilinear=False)
        self.outc = nn.Conv2d(8, 2, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down(x1)
        x3 = self.down(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        logits = self.outc(x)
        # a coarse auxiliary head resized back to the input, as DeepLab's decoders do
        aux = F.interpolate(self.outc(x3), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits + 0.1 * aux


unet = TinyUNet()
same_start(unet)
print(unet.up1)
print(unet.up2.up)
inputs = torch.tensor(rng.standard_normal((4, 3, 18, 18)).astype(np.float32))
masks = torch.tensor((rng.standard_normal((4, 18, 18)) > 0).astype(np.int64))
opt = optim.SGD(unet.parameters(), lr=0.05, momentum=0.9)
for step in range(5):
    opt.zero_grad()
    out = unet(inputs)
    loss = F.cross_entropy(out, masks)
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.5f}")
with torch.no_grad():
    small = F.interpolate(inputs, scale_factor=0.5, mode="bicubic", antialias=True)
    print("antialiased", tuple(small.shape), round(small.std().item(), 5))
    near = nn.UpsamplingNearest2d(scale_factor=2)(small)
    print(nn.UpsamplingNearest2d(scale_factor=2), tuple(near.shape), round(near.sum().item(), 3))
