from tortoise import migrations
from tortoise.migrations import operations as ops
from node.members.models import Role
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='InstanceActor',
            fields=[
                ('rsa_private_pem', fields.TextField(unique=False)),
                ('rsa_public_pem', fields.TextField(unique=False)),
                ('ed25519_private_pem', fields.TextField(unique=False)),
                ('ed25519_multibase', fields.CharField(max_length=100)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'instance_actor', 'app': 'node', 'pk_attr': 'id', 'table_description': "The node's Application actor (one row). Signs node-level requests."},
            bases=['KeyedActor'],
        ),
        ops.CreateModel(
            name='Member',
            fields=[
                ('rsa_private_pem', fields.TextField(unique=False)),
                ('rsa_public_pem', fields.TextField(unique=False)),
                ('ed25519_private_pem', fields.TextField(unique=False)),
                ('ed25519_multibase', fields.CharField(max_length=100)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=30)),
                ('real_name', fields.CharField(max_length=100)),
                ('display_name', fields.CharField(max_length=100)),
                ('bio', fields.TextField(default='', unique=False)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharEnumField(default=Role.RESIDENT, description='ADMIN: admin\nMODERATOR: moderator\nMANAGER: manager\nRESIDENT: resident', enum_type=Role, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('last_active_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A local member, published as a ``Person`` actor.'},
            bases=['KeyedActor'],
        ),
        ops.CreateModel(
            name='Invite',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('role', fields.CharEnumField(default=Role.RESIDENT, description='ADMIN: admin\nMODERATOR: moderator\nMANAGER: manager\nRESIDENT: resident', enum_type=Role, max_length=16)),
                ('note', fields.CharField(default='', max_length=200)),
                ('created_by', fields.ForeignKeyField('node.Member', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='invites_created', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('used_by', fields.ForeignKeyField('node.Member', source_field='used_by_id', null=True, db_constraint=True, to_field='id', related_name='invite_used', on_delete=OnDelete.SET_NULL)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invite', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A single-use, expiring invitation to register. Only a hash of the code is stored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('label', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_session', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A login: a bearer token or a browser cookie. Only a hash of the secret is stored.'},
            bases=['Model'],
        ),
    ]
