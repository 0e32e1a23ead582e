from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.models import CredentialCheck
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('federation', '0007_inbound_lease_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RemoteCredential',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=16)),
                ('subject', fields.CharField(max_length=2048)),
                ('url', fields.CharField(max_length=2048)),
                ('issuer', fields.CharField(default='', max_length=2048)),
                ('trusted_through', fields.CharField(null=True, max_length=2048)),
                ('community_name', fields.CharField(default='', max_length=200)),
                ('community_area', fields.CharField(default='', max_length=200)),
                ('method', fields.CharField(default='', max_length=16)),
                ('valid_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status_list', fields.CharField(null=True, max_length=2048)),
                ('status_index', fields.IntField(null=True)),
                ('outcome', fields.CharEnumField(description='PENDING: pending\nVALID: valid\nUNTRUSTED: untrusted\nREJECTED: rejected', enum_type=CredentialCheck, max_length=16)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('checked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('next_check_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_credential', 'app': 'federation', 'unique_together': (('kind', 'subject'),), 'pk_attr': 'id', 'table_description': 'What this node concluded about a credential another node issued about one of its'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusListCopy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(unique=True, max_length=2048)),
                ('issuer', fields.CharField(default='', max_length=2048)),
                ('encoded', fields.TextField(unique=False)),
                ('digest', fields.CharField(max_length=64)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'status_list_copy', 'app': 'federation', 'pk_attr': 'id', 'table_description': "Another node's revocation list, as last fetched and verified."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='endorsements',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='residency_credential',
            field=fields.CharField(null=True, max_length=2048),
        ),
    ]
