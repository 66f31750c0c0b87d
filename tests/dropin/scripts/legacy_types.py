"""Legacy tensor types, as older tutorials use them."""
import torch

a = torch.FloatTensor([1.5, 2.5, 3.5])
b = torch.LongTensor([1, 2, 3])
c = torch.FloatTensor(2, 3).zero_()
print(a.type(), b.type(), c.shape, c.type())
print(isinstance(a, torch.FloatTensor), isinstance(b, torch.FloatTensor), isinstance(b, torch.LongTensor))
print(a.type(torch.LongTensor), b.type("torch.DoubleTensor").dtype)
print(torch.ByteTensor([1, 0]).dtype, torch.IntTensor([7]).dtype, torch.DoubleTensor([0.25]))
print((a * b.float()).sum().item())
