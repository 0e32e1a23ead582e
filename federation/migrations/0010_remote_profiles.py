from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('federation', '0009_sharing_ledger')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RemoteActor',
            name='followers',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='icon',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='image',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='manually_approves_followers',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='name',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='published',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='summary',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='url',
            field=fields.CharField(null=True, max_length=2048),
        ),
    ]
